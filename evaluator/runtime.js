// evalbatch runtime driver: runs the hooks of one evalscript inside one V8 context and drives
// evaluatePixel over whole batches of pixels held in typed arrays (spec/evalscript-v3.md §6, §11).
//
// Loaded after helpers.js and BEFORE the user script. Everything it needs is captured here, and
// the typed arrays shared with Python (through zero-copy memoryviews) live only in this closure:
// the user script can neither reach nor replace them, so a Python view can never dangle while the
// context is alive. The driver only ever indexes those arrays (no property getters a script could
// patch). Python talks to it through the frozen, non-writable global `__evalbatch`; every entry
// point takes and returns JSON text and reports script errors as {"error": {...}} instead of
// throwing, so error details (name, message, stack, pixel) arrive intact.
(function installEvalbatchRuntime(global) {
  "use strict";

  const isArray = Array.isArray;
  const isView = ArrayBuffer.isView;
  const parseJSON = JSON.parse;
  const toJSON = JSON.stringify;
  const hasOwn = Object.hasOwn;
  const freeze = Object.freeze;
  const defineProperty = Object.defineProperty;
  const objectKeys = Object.keys;
  const isInteger = Number.isInteger;
  const MakeFunction = Function;
  const DateCtor = Date;
  const ProxyCtor = Proxy;
  const ArrayCtor = Array;
  const ArrayFrom = Array.from;
  const StringCtor = String;
  const ErrorCtor = Error;
  const TYPED_ARRAYS = freeze({
    float64: Float64Array, float32: Float32Array, int32: Int32Array, uint32: Uint32Array,
    int16: Int16Array, uint16: Uint16Array, int8: Int8Array, uint8: Uint8Array
  });
  // Output storage: float32 for FLOAT32 outputs (the store is the cast), float64 for the others.
  const OUTPUT_ARRAYS = freeze({ float32: Float32Array, float64: Float64Array });
  const SERVICE_VERSION = "3";
  const NORMALIZATION_FACTOR = 0.0001;

  // An error raised by the runtime itself (bad return value, bad hook result).
  class RuntimeProblem extends ErrorCtor {
    constructor(kind, message) {
      super(message);
      this.kind = kind;
    }
  }

  // ---- Hook lookup: by identifier, so `const evaluatePixel = ...` works too ----------------
  // (No local binding of this closure may carry a hook's name, or it would shadow the script's.)

  function hooks() {
    return {
      setup: typeof setup === "function" ? setup : undefined,
      evaluatePixel: typeof evaluatePixel === "function" ? evaluatePixel : undefined,
      preProcessScenes: typeof preProcessScenes === "function" ? preProcessScenes : undefined,
      filterScenes: typeof filterScenes === "function" ? filterScenes : undefined,
      updateOutput: typeof updateOutput === "function" ? updateOutput : undefined,
      updateOutputMetadata: typeof updateOutputMetadata === "function" ? updateOutputMetadata : undefined,
      v1Main: typeof __evalbatch_v1main === "function" ? __evalbatch_v1main : undefined
    };
  }

  // ---- Error reporting -----------------------------------------------------------------------

  function describe(e, pixel) {
    let name = "Error";
    let message;
    let stack = null;
    let kind = "runtime";
    try {
      if (e instanceof RuntimeProblem) kind = e.kind;
      if (e !== null && typeof e === "object") {
        name = StringCtor(e.name === undefined ? "Error" : e.name);
        message = StringCtor(e.message === undefined ? e : e.message);
        stack = typeof e.stack === "string" ? e.stack : null;
      } else {
        message = StringCtor(e);
      }
    } catch (inner) {
      message = "unprintable exception";
    }
    return toJSON({ error: { kind, name, message, stack, pixel: pixel === undefined ? null : pixel } });
  }

  function ok(value) {
    return toJSON({ ok: value === undefined ? null : value });
  }

  // ---- Legacy V1/V2 setup(ds) support --------------------------------------------------------

  const legacyState = { components: null, outputCount: null };
  global.setInputComponents = function setInputComponents(components) {
    legacyState.components = ArrayCtor.from(components || [], (c) => StringCtor(c));
  };
  global.setOutputComponentCount = function setOutputComponentCount(count) {
    legacyState.outputCount = count;
  };
  const bandNameProxy = new ProxyCtor({}, {
    get: (target, key) => (typeof key === "string" ? key : undefined)
  });

  // JSON round trip: a plain copy of what a hook returned (functions and undefined dropped).
  function plain(value) {
    return value === undefined ? null : parseJSON(toJSON(value));
  }

  function runSetup(kind) {
    try {
      const h = hooks();
      if (kind === "v3") {
        if (!h.setup) throw new RuntimeProblem("setup", "the script defines no setup() function");
        if (!h.evaluatePixel) {
          throw new RuntimeProblem("setup", "the script defines no evaluatePixel() function");
        }
        return ok(plain(h.setup()));
      }
      if (kind === "legacy") {
        legacyState.components = null;
        legacyState.outputCount = null;
        const returned = h.setup(bandNameProxy);
        return ok({
          returned: plain(returned),
          components: legacyState.components,
          outputCount: legacyState.outputCount
        });
      }
      throw new RuntimeProblem("setup", "unknown setup kind " + kind);
    } catch (e) {
      return describe(e);
    }
  }

  function setupArity() {
    const h = hooks();
    return ok(h.setup ? h.setup.length : null);
  }

  // Calls the V1 body once with every band at 0 to learn how many values it returns.
  function probeV1(paramCount) {
    try {
      const r = hooks().v1Main(...new ArrayCtor(paramCount).fill(0));
      if (typeof r === "number") return ok(1);
      if (isArray(r) || isView(r)) return ok(r.length);
      return ok(null);
    } catch (e) {
      return ok(null);
    }
  }

  // ---- Scene presentation (spec §4.1, §4.2) ---------------------------------------------------

  function dayOf(iso) {
    return iso.slice(0, 10);
  }

  function orbitEntry(scene, idx) {
    return {
      dateFrom: dayOf(scene.date) + "T00:00:00Z",
      dateTo: dayOf(scene.date) + "T23:59:59Z",
      tiles: [tileEntry(scene, idx)],
      __idx: idx
    };
  }

  function tileEntry(scene, idx) {
    return {
      date: scene.date,
      cloudCoverage: scene.cloudCoverage,
      dataPath: scene.dataPath,
      shId: scene.id,
      __idx: idx
    };
  }

  // One object that works as the deprecated array (scenes[i].date is a Date, scenes.length) and
  // carries the current-form list as .orbits (ORBIT) or .tiles (TILE).
  function sceneArray(group) {
    const list = ArrayCtor.from(group.scenes, (scene, idx) => ({
      date: new DateCtor(scene.date),
      dateFrom: dayOf(scene.date) + "T00:00:00Z",
      dateTo: dayOf(scene.date) + "T23:59:59Z",
      cloudCoverage: scene.cloudCoverage,
      dataPath: scene.dataPath,
      shId: scene.id,
      orbitId: scene.orbitId,
      tileId: scene.tileId,
      __idx: idx
    }));
    if (group.mosaicking === "ORBIT") list.orbits = group.scenes.map(orbitEntry);
    if (group.mosaicking === "TILE") list.tiles = group.scenes.map(tileEntry);
    return list;
  }

  function currentForm(group) {
    return group.mosaicking === "ORBIT"
      ? { orbits: group.scenes.map(orbitEntry) }
      : { tiles: group.scenes.map(tileEntry) };
  }

  // Maps the scene objects a hook returned back to indices of the offered scenes.
  function resolveKept(returned, group, hookName) {
    if (returned === undefined || returned === null) {
      throw new RuntimeProblem("scenes", hookName + " returned no scenes list");
    }
    if (!isArray(returned)) {
      throw new RuntimeProblem("scenes", hookName + " must return an array of scenes");
    }
    const offered = group.scenes;
    return returned.map((item) => {
      if (item !== null && typeof item === "object") {
        const idx = item.__idx;
        if (isInteger(idx) && idx >= 0 && idx < offered.length) return idx;
        for (let k = 0; k < offered.length; k++) {
          const s = offered[k];
          if (item.dateFrom !== undefined && dayOf(StringCtor(item.dateFrom)) === dayOf(s.date)) return k;
          if (item.date instanceof DateCtor && item.date.getTime() === new DateCtor(s.date).getTime()) return k;
          if (typeof item.date === "string" && item.date === s.date) return k;
        }
      }
      throw new RuntimeProblem("scenes", hookName + " returned a scene that was not offered to it");
    });
  }

  function inputMetadataWith(extra) {
    const meta = { serviceVersion: SERVICE_VERSION, normalizationFactor: NORMALIZATION_FACTOR };
    for (const key of objectKeys(extra)) meta[key] = extra[key];
    return meta;
  }

  function runSelectScenes(configJson) {
    try {
      const cfg = parseJSON(configJson);
      const h = hooks();
      const from = new DateCtor(cfg.from);
      const to = new DateCtor(cfg.to);
      const kept = cfg.groups.map((g) => g.scenes.map((s, idx) => idx));
      const temporal = cfg.groups.map((g, k) => k).filter((k) => cfg.groups[k].mosaicking !== "SIMPLE");
      if (temporal.length === 0) return ok(kept);
      if (h.preProcessScenes) {
        const collections = { from, to };
        if (cfg.fusion) {
          for (const k of temporal) collections[cfg.groups[k].key] = { scenes: currentForm(cfg.groups[k]) };
        } else {
          collections.scenes = currentForm(cfg.groups[0]);
        }
        let result = h.preProcessScenes(collections);
        if (result === undefined || result === null) result = collections;
        for (const k of temporal) {
          const g = cfg.groups[k];
          const holder = cfg.fusion ? result[g.key] : result;
          const scenes = holder && holder.scenes;
          const list = scenes && scenes[g.mosaicking === "ORBIT" ? "orbits" : "tiles"];
          kept[k] = resolveKept(list, g, "preProcessScenes");
        }
      } else if (h.filterScenes) {
        for (const k of temporal) {
          const g = cfg.groups[k];
          const offered = sceneArray(g);
          let result = h.filterScenes(offered, inputMetadataWith({ from, to }));
          if (result === undefined) result = offered;
          kept[k] = resolveKept(result, g, "filterScenes");
        }
      }
      return ok(kept);
    } catch (e) {
      return describe(e);
    }
  }

  // ---- Per-session state ---------------------------------------------------------------------

  const state = {
    fusion: false,
    groups: [],
    scenesArg: {},
    inputMetadata: inputMetadataWith({}),
    customData: {},
    outputMetadata: { userData: undefined },
    outputIds: [],
    outputBands: [],
    cap: 0,
    inputs: [],
    outputs: [],
    runStrip: null,
    pixelIndex: 0
  };

  function runUpdateOutput(configJson) {
    try {
      const cfg = parseJSON(configJson);
      const h = hooks();
      state.fusion = cfg.fusion;
      const arrays = cfg.groups.map(sceneArray);
      let collection;
      if (cfg.fusion) {
        state.scenesArg = {};
        collection = {};
        cfg.groups.forEach((g, k) => {
          state.scenesArg[g.key] = arrays[k];
          collection[g.key] = { scenes: arrays[k] };
        });
      } else {
        state.scenesArg = cfg.groups[0].mosaicking === "SIMPLE" ? {} : arrays[0];
        collection = { scenes: arrays[0] };
      }
      const outputs = {};
      for (const out of cfg.outputs) outputs[out.id] = { bands: out.bands };
      if (h.updateOutput) h.updateOutput(outputs, collection);
      return ok(cfg.outputs.map((out) => {
        const entry = outputs[out.id];
        return entry !== null && typeof entry === "object" ? entry.bands : null;
      }));
    } catch (e) {
      return describe(e);
    }
  }

  // ---- Batch evaluation ----------------------------------------------------------------------

  // The strip loop is generated per configuration (band names, scene counts, output band counts)
  // so that V8 can inline evaluatePixel into it and, by escape analysis, drop the per-pixel sample
  // objects and returned arrays entirely. The inline fast path only uses checks that escape
  // analysis understands (r.length, r[k], typeof); anything unusual goes to storeResult().
  // Band names and output ids appear as JSON string literals, so any name is safe in the code.
  const UNROLL_LIMIT = 32;
  // Band names written as plain getter names (computed names for anything else).
  const IDENTIFIER = /^[A-Za-z_$][A-Za-z0-9_$]*$/;

  function sampleLiteral(bands, arrayPrefix, at) {
    return "{" + bands.map((b, k) => toJSON(b) + ": " + arrayPrefix + k + "[" + at + "]").join(", ") + "}";
  }

  // Reused temporal samples (cfg.reuseSamples: the static scan in Python found that evaluatePixel
  // cannot keep a sample past its call, mutate it or list its keys): one object per scene whose
  // band getters read the typed arrays at the current pixel `c<g>` = i; a fresh Array of them
  // per pixel, so the script may still sort or splice it. `setup` gets the class and the objects.
  function reusedSampleCode(g, gi, setup, prelude) {
    const prefix = "a" + gi + "_";
    const cursor = "c" + gi;
    const pool = "p" + gi;
    const getters = g.bands.map((b, k) => "get " + (IDENTIFIER.test(b) ? b : "[" + toJSON(b) + "]") +
      "() { return " + prefix + k + "[" + cursor + " + this.#t]; }");
    setup.push("let " + cursor + " = 0;",
      "class Sample" + gi + " { #t; constructor(t) { this.#t = t; } " + getters.join(" ") + " }",
      "const " + pool + " = ArrayFrom({ length: " + g.T + " }, (_, t) => new Sample" + gi + "(t * cap));");
    prelude.push(cursor + " = i;");
    if (g.T <= UNROLL_LIMIT) {
      const items = [];
      for (let t = 0; t < g.T; t++) items.push(pool + "[" + t + "]");
      prelude.push("const s" + gi + " = [" + items.join(", ") + "];");
    } else {
      prelude.push("const s" + gi + " = ArrayFrom(" + pool + ");");
    }
    return "s" + gi;
  }

  // Statements building temporal samples and the expression of the first evaluatePixel argument.
  function sampleCode(cfg, setup) {
    const prelude = [];
    const parts = cfg.groups.map((g, gi) => {
      const prefix = "a" + gi + "_";
      if (g.mosaicking === "SIMPLE") {
        const literal = sampleLiteral(g.bands, prefix, "i");
        return cfg.fusion ? "[" + literal + "]" : literal;
      }
      if (cfg.reuseSamples && !cfg.fusion) return reusedSampleCode(g, gi, setup, prelude);
      // Temporal inputs are scene-major: scene t of pixel i is at t * cap + i.
      if (g.T <= UNROLL_LIMIT) {
        // An array literal of object literals: V8 folds these allocations into one.
        const items = [];
        for (let t = 0; t < g.T; t++) items.push(sampleLiteral(g.bands, prefix, t ? "i + " + t * cfg.cap : "i"));
        prelude.push("const s" + gi + " = [" + items.join(", ") + "];");
      } else {
        prelude.push("const s" + gi + " = new Array(" + g.T + ");",
          "for (let t = 0; t < " + g.T + "; t++) s" + gi + "[t] = " +
          sampleLiteral(g.bands, prefix, "i + t * cap") + ";");
      }
      return "s" + gi;
    });
    if (!cfg.fusion) return { prelude, expression: parts[0] };
    const literal = "{" + cfg.groups.map((g, gi) => toJSON(g.key) + ": " + parts[gi]).join(", ") + "}";
    return { prelude, expression: literal };
  }

  // Statements storing array `value` of output j when it has exactly `bands` numbers; else `miss`.
  function fastStoreCode(value, j, bands, miss) {
    const lines = ["if (" + value + " == null || " + value + ".length !== " + bands + ") " + miss];
    if (bands <= UNROLL_LIMIT) {
      const names = [];
      for (let k = 0; k < bands; k++) names.push("v" + j + "_" + k);
      names.forEach((name, k) => lines.push("const " + name + " = " + value + "[" + k + "];"));
      if (bands > 0) {
        lines.push("if (" + names.map((name) => "typeof " + name + " !== \"number\"").join(" || ") + ") " + miss);
      }
      names.forEach((name, k) => lines.push("o" + j + "[i" + (k ? " + " + k + " * cap" : "") + "] = " + name + ";"));
    } else {
      lines.push("for (let k = 0; k < " + bands + "; k++) { if (typeof " + value + "[k] !== \"number\") " + miss + " }",
        "for (let k = 0, o = i; k < " + bands + "; k++, o += cap) o" + j + "[o] = " + value + "[k];");
    }
    return lines;
  }

  function storeCode(cfg) {
    const miss = "{ slow(r, i); continue; }";
    const outputs = cfg.outputs;
    if (outputs.length === 1) {
      const lines = [];
      if (outputs[0].bands === 1) lines.push("if (typeof r === \"number\") { o0[i] = r; continue; }");
      return lines.concat(fastStoreCode("r", 0, outputs[0].bands, miss));
    }
    const lines = ["if (r == null) " + miss];
    outputs.forEach((out, j) => {
      lines.push("const r" + j + " = r[" + toJSON(out.id) + "];");
      lines.push(...fastStoreCode("r" + j, j, out.bands, miss));
    });
    return lines;
  }

  function markPixel(i) {
    state.pixelIndex = i;
  }

  function buildRunner(cfg) {
    const h = hooks();
    const names = ["slow", "mark", "cap", "sc", "im", "cd", "om", "ArrayFrom"];
    const values = [storeResult, markPixel, cfg.cap, state.scenesArg, state.inputMetadata, state.customData,
      state.outputMetadata, ArrayFrom];
    const setup = [];
    cfg.groups.forEach((g, gi) => g.bands.forEach((b, k) => {
      names.push("a" + gi + "_" + k);
      values.push(state.inputs[gi][k]);
    }));
    cfg.outputs.forEach((out, j) => {
      names.push("o" + j);
      values.push(state.outputs[j]);
    });
    let prelude;
    let call;
    if (cfg.v1) {
      if (!h.v1Main) throw new RuntimeProblem("setup", "the V1 script body was not loaded");
      const bands = cfg.groups[0].bands;
      const args = cfg.v1.params.map((p) => {
        const k = bands.indexOf(p);
        return k < 0 ? "undefined" : "a0_" + k + "[i]";
      });
      names.push("fn");
      values.push(h.v1Main);
      prelude = [];
      call = "fn(" + args.join(", ") + ")";
    } else {
      if (!h.evaluatePixel) throw new RuntimeProblem("setup", "the script defines no evaluatePixel() function");
      names.push("fn");
      values.push(h.evaluatePixel);
      const sample = sampleCode(cfg, setup);
      prelude = sample.prelude;
      call = "fn(" + sample.expression + ", sc, im, cd, om)";
    }
    const body = [
      ...setup,
      "return function runStrip(from, to) {",
      "let i = from;",
      "try {",
      "for (; i < to; i++) {",
      ...prelude,
      "const r = " + call + ";",
      ...storeCode(cfg),
      "}",
      "} catch (e) { mark(i); throw e; }",
      "};"
    ].join("\n");
    return MakeFunction(...names, body)(...values);
  }

  function outputProblem(j, message) {
    return new RuntimeProblem("output", "output '" + state.outputIds[j] + "': " + message);
  }

  function toNumber(v, j, k) {
    if (v === undefined || v === null) return NaN;
    if (typeof v === "boolean") return v ? 1 : 0;
    throw outputProblem(j, "band " + k + " is not a number (" + (typeof v) + " " +
      StringCtor(v).slice(0, 40) + ")");
  }

  // Writes one output's value for pixel i into its (bands, cap) Float64Array.
  function storeOutput(v, j, i) {
    const bands = state.outputBands[j];
    const out = state.outputs[j];
    const cap = state.cap;
    if (typeof v === "number") {
      if (bands !== 1) throw outputProblem(j, "evaluatePixel returned 1 value, expected " + bands + " bands");
      out[i] = v;
      return;
    }
    if (isArray(v) || isView(v)) {
      const n = v.length;
      if (n !== bands) {
        throw outputProblem(j, "evaluatePixel returned " + n + " values, expected " + bands + " bands");
      }
      for (let k = 0, o = i; k < n; k++, o += cap) {
        const x = v[k];
        out[o] = typeof x === "number" ? x : toNumber(x, j, k);
      }
      return;
    }
    if (v === undefined || v === null) {
      if (bands === 0) return;
      throw outputProblem(j, "evaluatePixel returned no value, expected " + bands + " bands");
    }
    throw outputProblem(j, "evaluatePixel returned a " + typeof v + ", expected an array of " + bands + " numbers");
  }

  function storeResult(r, i) {
    const ids = state.outputIds;
    if (ids.length === 1 && (typeof r !== "object" || r === null || isArray(r) || isView(r))) {
      storeOutput(r, 0, i);
      return;
    }
    if (r !== null && typeof r === "object" && !isArray(r) && !isView(r)) {
      for (let j = 0; j < ids.length; j++) storeOutput(hasOwn(r, ids[j]) ? r[ids[j]] : undefined, j, i);
      return;
    }
    if (r === undefined || r === null) {
      for (let j = 0; j < ids.length; j++) storeOutput(undefined, j, i);
      return;
    }
    throw new RuntimeProblem("output", "evaluatePixel returned a bare " + (isArray(r) ? "array" : typeof r) +
      " but the script has " + ids.length + " outputs; return an object keyed by output id");
  }

  function configure(configJson) {
    try {
      const cfg = parseJSON(configJson);
      state.cap = cfg.cap;
      state.outputIds = cfg.outputs.map((o) => o.id);
      state.outputBands = cfg.outputs.map((o) => o.bands);
      state.outputs = cfg.outputs.map((o) => {
        const Ctor = OUTPUT_ARRAYS[o.storage];
        if (Ctor === undefined) throw new RuntimeProblem("config", "unsupported output storage " + o.storage);
        return new Ctor(o.bands * cfg.cap);
      });
      state.inputs = cfg.groups.map((g) => g.types.map((type) => {
        const Ctor = TYPED_ARRAYS[type];
        if (Ctor === undefined) throw new RuntimeProblem("config", "unsupported input type " + type);
        return new Ctor(g.T * cfg.cap);
      }));
      state.runStrip = buildRunner(cfg);
      return ok(true);
    } catch (e) {
      return describe(e);
    }
  }

  // Evaluates buffer pixels [0, ends[last]) as consecutive calls of the strip loop ending at each
  // of `ends` (growing calls let V8 optimize the loop early); `base` is the batch index of buffer
  // pixel 0 (for errors).
  function run(ends, base) {
    state.pixelIndex = -1;
    try {
      let from = 0;
      for (const to of ends) {
        state.runStrip(from, to);
        from = to;
      }
      return "";
    } catch (e) {
      return describe(e, state.pixelIndex < 0 ? undefined : base + state.pixelIndex);
    }
  }

  function definedHooks() {
    try {
      const h = hooks();
      return ok(objectKeys(h).filter((name) => h[name] !== undefined));
    } catch (e) {
      return describe(e);
    }
  }

  function finish() {
    try {
      const h = hooks();
      if (h.updateOutputMetadata) {
        h.updateOutputMetadata(state.scenesArg, state.inputMetadata, state.outputMetadata);
      }
      const userData = state.outputMetadata.userData;
      return userData === undefined ? ok(null) : toJSON({ ok: userData });
    } catch (e) {
      return describe(e);
    }
  }

  const api = freeze({
    setup: runSetup,
    setupArity,
    definedHooks,
    probeV1,
    selectScenes: runSelectScenes,
    updateOutput: runUpdateOutput,
    configure,
    input: (g, b) => state.inputs[g][b],
    output: (j) => state.outputs[j],
    run,
    finish
  });
  defineProperty(global, "__evalbatch", { value: api, writable: false, configurable: false, enumerable: false });
})(globalThis);
