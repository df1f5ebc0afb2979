// Evalscript helper library: the globals Sentinel Hub provides to every evalscript.
// Written for evalbatch from the behaviour described in spec/evalscript-v3.md §8 and the
// conformance corpus README (which wins where the two disagree, e.g. ColorRamp truncation).
//
// Every global is installed as a plain, configurable property of globalThis (never with a
// top-level declaration), so that a user script may declare its own `index`, `blueRed`, ...
// with function/var/let/const without a redeclaration error.
(function installEvalscriptHelpers(global) {
  "use strict";

  const JAVA_DOUBLE_MAX_VAL = 1.7976931348623157e308;

  function isArray(x) {
    return Array.isArray(x) || ArrayBuffer.isView(x);
  }

  function copyValue(v) {
    return isArray(v) ? Array.from(v) : v;
  }

  function nanLike(v) {
    return isArray(v) ? Array.from(v, () => NaN) : NaN;
  }

  // c0 + (c1 - c0) * (x - x0) / (x1 - x0), per component for arrays; always a fresh array.
  function lerp(c0, c1, x, x0, x1) {
    if (isArray(c0)) {
      const out = new Array(c0.length);
      for (let k = 0; k < c0.length; k++) {
        out[k] = c0[k] + (c1[k] - c0[k]) * (x - x0) / (x1 - x0);
      }
      return out;
    }
    return c0 + (c1 - c0) * (x - x0) / (x1 - x0);
  }

  function index(x, y) {
    const sum = x + y;
    return sum === 0 ? 0 : (x - y) / sum;
  }

  function inverse(x) {
    return x === 0 ? JAVA_DOUBLE_MAX_VAL : 1 / x;
  }

  // Piecewise-linear interpolation of numbers or equal-length arrays over ascending limits.
  function valueInterpolate(value, limits, values) {
    if (!isArray(limits) || !isArray(values) || limits.length === 0 || values.length === 0) {
      return value;
    }
    const last = Math.min(limits.length, values.length) - 1;
    if (Number.isNaN(value)) return nanLike(values[0]);
    if (value <= limits[0]) return copyValue(values[0]);
    if (value >= limits[last]) return copyValue(values[last]);
    let i = 0;
    while (i < last - 1 && !(value < limits[i + 1])) i++;
    return lerp(values[i], values[i + 1], value, limits[i], limits[i + 1]);
  }

  // Discrete mapping: values[i] for the smallest i with value <= intervals[i], else the last value.
  function valueMap(value, intervals, values) {
    if (!isArray(intervals) || !isArray(values) || values.length === 0) return value;
    const n = Math.min(intervals.length, values.length);
    for (let i = 0; i < n; i++) {
      if (value <= intervals[i]) return copyValue(values[i]);
    }
    return copyValue(values[values.length - 1]);
  }

  // Old runtime: discrete colorBlend (colour of the last limit <= value, first colour below all).
  function colorMap(value, limits, colors) {
    if (!isArray(limits) || !isArray(colors) || colors.length === 0) return value;
    let chosen = 0;
    const n = Math.min(limits.length, colors.length);
    for (let i = 0; i < n; i++) {
      if (value >= limits[i]) chosen = i;
    }
    return copyValue(colors[chosen]);
  }

  function combine(c1, c2, alpha) {
    if (isArray(c1)) {
      return Array.from(c1, (a, k) => alpha * a + (1 - alpha) * c2[k]);
    }
    return alpha * c1 + (1 - alpha) * c2;
  }

  function int2rgb(color) {
    return [(color >> 16) & 0xff, (color >> 8) & 0xff, color & 0xff];
  }

  function rgb2int(rgb) {
    return rgb[0] * 65536 + rgb[1] * 256 + rgb[2];
  }

  function normalizeRGB(rgb) {
    return Array.from(rgb, (c) => c / 255);
  }

  // A colour given as 0xRRGGBB or as normalized [r, g, b], on the 0..255 scale.
  function colorTo255(color) {
    return isArray(color) ? Array.from(color, (c) => c * 255) : int2rgb(color);
  }

  // ---- Visualizers -------------------------------------------------------------------------

  function ColorMapVisualizer(valColPairs) {
    this.valColPairs = Array.from(valColPairs || [])
      .map((pair, order) => ({ value: pair[0], color: pair[1], order }))
      .sort((a, b) => a.value - b.value || a.order - b.order)
      .map((entry) => [entry.value, entry.color]);
  }
  ColorMapVisualizer.prototype.getColorFromValue = function (value) {
    const pairs = this.valColPairs;
    if (pairs.length === 0) return undefined;
    let chosen = 0;
    for (let i = 0; i < pairs.length; i++) {
      if (pairs[i][0] <= value) chosen = i;
    }
    return copyValue(pairs[chosen][1]);
  };
  ColorMapVisualizer.prototype.process = function (value) {
    const color = this.getColorFromValue(value);
    if (color === undefined) return [0, 0, 0];
    return isArray(color) ? color : normalizeRGB(int2rgb(color));
  };
  ColorMapVisualizer.createDefaultColorMap = function () {
    return new ColorMapVisualizer([
      [-1.0, 0x000000], [-0.2, 0xff0000], [-0.1, 0x9a0000], [0.0, 0x660000],
      [0.1, 0xffff33], [0.2, 0xcccc33], [0.3, 0x666600], [0.4, 0x33ffff],
      [0.5, 0x33cccc], [0.6, 0x006666], [0.7, 0x33ff33], [0.8, 0x33cc33],
      [0.9, 0x006600]
    ]);
  };

  // Stops [[value, colour], ...]; with minVal/maxVal the first stop (array order) moves to
  // minVal and the last to maxVal. Interpolates on the 0..255 scale over the stops sorted by
  // value and truncates each component to k/255.
  function ColorRampVisualizer(ramps, minVal, maxVal) {
    let stops = Array.from(ramps || [], (pair) => [pair[0], pair[1]]);
    if (stops.length > 0 && minVal !== undefined && maxVal !== undefined) {
      const first = stops[0][0];
      const last = stops[stops.length - 1][0];
      const span = last - first;
      stops = stops.map(([v, c]) => [
        span === 0 ? minVal : minVal + (v - first) * (maxVal - minVal) / span, c
      ]);
    }
    this.ramps = stops
      .map((pair, order) => ({ pair, order }))
      .sort((a, b) => a.pair[0] - b.pair[0] || a.order - b.order)
      .map((entry) => entry.pair);
    this.minVal = minVal;
    this.maxVal = maxVal;
    this._values = this.ramps.map((pair) => pair[0]);
    this._colors = this.ramps.map((pair) => colorTo255(pair[1]));
  }
  ColorRampVisualizer.prototype.process = function (value) {
    const values = this._values;
    const colors = this._colors;
    const n = values.length;
    if (n === 0) return [0, 0, 0];
    if (Number.isNaN(value)) return [NaN, NaN, NaN];
    let c;
    if (value <= values[0]) {
      c = colors[0];
    } else if (value > values[n - 1]) {
      c = colors[n - 1];
    } else {
      let i = 0;
      while (!(value <= values[i + 1])) i++;
      c = lerp(colors[i], colors[i + 1], value, values[i], values[i + 1]);
    }
    return [Math.floor(c[0]) / 255, Math.floor(c[1]) / 255, Math.floor(c[2]) / 255];
  };
  // Same stop values, colours in reverse order.
  ColorRampVisualizer.prototype.inverse = function () {
    const n = this.ramps.length;
    return new ColorRampVisualizer(this.ramps.map((pair, i) => [pair[0], this.ramps[n - 1 - i][1]]));
  };

  function GradientOrRampFactories(Cls) {
    Cls.createRedTemperature = (minVal, maxVal) => new Cls(global.redTemperature, minVal, maxVal);
    Cls.createWhiteGreen = (minVal, maxVal) => new Cls(global.greenWhite, minVal, maxVal);
    Cls.createBlueRed = (minVal, maxVal) => new Cls(global.blueRed, minVal, maxVal);
  }
  GradientOrRampFactories(ColorRampVisualizer);
  ColorRampVisualizer.createOceanColor = (minVal, maxVal) =>
    new ColorRampVisualizer(global.oceanColor, minVal, maxVal);

  // Deprecated: stops are fractions 0..1 placed at minVal + p * (maxVal - minVal); linear
  // interpolation of normalized colours without quantization.
  function ColorGradientVisualizer(valColPairs, minVal, maxVal) {
    this.minVal = minVal === undefined ? 0 : minVal;
    this.maxVal = maxVal === undefined ? 1 : maxVal;
    const span = this.maxVal - this.minVal;
    this.valColPairs = Array.from(valColPairs || [], (pair) => [pair[0], pair[1]]);
    const stops = this.valColPairs
      .map((pair, order) => ({ value: this.minVal + pair[0] * span, color: pair[1], order }))
      .sort((a, b) => a.value - b.value || a.order - b.order);
    this._values = stops.map((s) => s.value);
    this._colors = stops.map((s) => colorTo255(s.color).map((c) => c / 255));
  }
  ColorGradientVisualizer.prototype.process = function (value) {
    const values = this._values;
    const colors = this._colors;
    const n = values.length;
    if (n === 0) return [0, 0, 0];
    if (Number.isNaN(value)) return [NaN, NaN, NaN];
    if (value <= values[0]) return colors[0].slice();
    if (value >= values[n - 1]) return colors[n - 1].slice();
    let i = 0;
    while (!(value < values[i + 1])) i++;
    return lerp(colors[i], colors[i + 1], value, values[i], values[i + 1]);
  };
  GradientOrRampFactories(ColorGradientVisualizer);

  function highlightCompress(x, minValue, maxValue, gain, offset, gamma) {
    let v = gain * (x - minValue) / (maxValue - minValue) + offset;
    if (gamma !== 1) v = Math.pow(Math.max(0, v), gamma);
    if (maxValue > 0 && maxValue < 1 && v > 0.92) v = 0.92 + (v - 0.92) * (0.08 / 1.08);
    return Math.max(0, Math.min(1, v));
  }

  function HighlightCompressVisualizer(minValue, maxValue, gain, offset, gamma) {
    this.minValue = minValue === undefined ? 0 : minValue;
    this.maxValue = maxValue === undefined ? 1 : maxValue;
    this.gain = gain === undefined ? 1 : gain;
    this.offset = offset === undefined ? 0 : offset;
    this.gamma = gamma === undefined ? 1 : gamma;
  }
  HighlightCompressVisualizer.prototype.process = function (value) {
    return highlightCompress(value, this.minValue, this.maxValue, this.gain, this.offset, this.gamma);
  };
  HighlightCompressVisualizer.prototype.processList = function (values) {
    return Array.from(values, (v) => this.process(v));
  };

  function HighlightCompressVisualizerSingle(minValue, maxValue, gain, offset, gamma) {
    HighlightCompressVisualizer.call(this, minValue, maxValue, gain, offset, gamma);
  }
  HighlightCompressVisualizerSingle.prototype.process = function (value) {
    return [highlightCompress(value, this.minValue, this.maxValue, this.gain, this.offset, this.gamma)];
  };
  HighlightCompressVisualizerSingle.prototype.processList = function (values) {
    return Array.from(values, (v) => this.process(v)[0]);
  };

  // Legacy: linear mapping of [min, max] onto [0, 1] with gain, offset and gamma, clamped.
  function DefaultVisualizer(minValue, maxValue, gain, offset, gamma) {
    HighlightCompressVisualizer.call(this, minValue, maxValue, gain, offset, gamma);
  }
  DefaultVisualizer.prototype.process = function (value) {
    let v = this.gain * (value - this.minValue) / (this.maxValue - this.minValue) + this.offset;
    if (this.gamma !== 1) v = Math.pow(Math.max(0, v), this.gamma);
    return [Math.max(0, Math.min(1, v))];
  };
  DefaultVisualizer.prototype.processList = function (values) {
    return Array.from(values, (v) => this.process(v)[0]);
  };

  function Identity() {}
  Identity.prototype.process = function (value) {
    return isArray(value) ? value : [value];
  };
  Identity.prototype.processList = function (values) {
    return Array.from(values);
  };

  // ---- QA decoders -------------------------------------------------------------------------

  function bits(value, shift, width) {
    return Math.floor(value / Math.pow(2, shift)) % Math.pow(2, width);
  }

  function decodeL8C2Qa(value) {
    return {
      fill: bits(value, 0, 1),
      dilatedCloud: bits(value, 1, 1),
      cirrus: bits(value, 2, 1),
      cloud: bits(value, 3, 1),
      cloudShadow: bits(value, 4, 1),
      snow: bits(value, 5, 1),
      clear: bits(value, 6, 1),
      water: bits(value, 7, 1),
      cloudConfidence: bits(value, 8, 2),
      cloudShadowConfidence: bits(value, 10, 2),
      snowIceConfidence: bits(value, 12, 2),
      cirrusConfidence: bits(value, 14, 2)
    };
  }

  const OLCI_NAMED_FLAGS = [
    "land", "coastline", "fresh_inland_water", "tidal_region", "bright", "straylight_risk",
    "invalid", "cosmetic", "duplicated", "sun_glint_risk", "dubious"
  ];

  function decodeS3OLCIQualityFlags(value) {
    const flags = {};
    OLCI_NAMED_FLAGS.forEach((name, k) => { flags[name] = bits(value, 31 - k, 1); });
    for (let band = 1; band <= 21; band++) {
      flags["saturatedB" + String(band).padStart(2, "0")] = bits(value, 21 - band, 1);
    }
    return flags;
  }

  // ---- Constants ---------------------------------------------------------------------------

  const SampleType = Object.freeze({
    INT8: "INT8", UINT8: "UINT8", INT16: "INT16", UINT16: "UINT16", FLOAT32: "FLOAT32", AUTO: "AUTO"
  });
  const Mosaicking = Object.freeze({ SIMPLE: "SIMPLE", ORBIT: "ORBIT", TILE: "TILE" });

  const blueRed = [
    [1.0, 0x000080], [0.875, 0x0000ff], [0.625, 0x00ffff], [0.375, 0xffff00], [0.125, 0xff0000],
    [0.0, 0x800000]
  ];
  const redTemperature = [
    [1.0, 0x000000], [0.525, 0xae0000], [0.3, 0xff6e00], [0.25, 0xff8600], [0.0, 0xffffff]
  ];
  const greenWhite = [[1.0, 0x000000], [0.6, 0x006600], [0.3, 0x80b300], [0.0, 0xffffff]];
  const oceanColor = [
    [0.0, [147, 0, 108]], [0.0471, [111, 0, 144]], [0.098, [72, 0, 183]], [0.149, [33, 0, 222]],
    [0.2, [0, 10, 255]], [0.2471, [0, 74, 255]], [0.298, [0, 144, 255]], [0.349, [0, 213, 255]],
    [0.4, [0, 255, 215]], [0.4471, [0, 255, 119]], [0.498, [0, 255, 15]], [0.549, [96, 255, 0]],
    [0.6, [200, 255, 0]], [0.6471, [255, 235, 0]], [0.698, [255, 183, 0]], [0.749, [255, 131, 0]],
    [0.8, [255, 79, 0]], [0.8471, [255, 31, 0]], [0.898, [230, 0, 0]], [0.949, [165, 0, 0]],
    [1.0, [105, 0, 0]]
  ].map(([p, rgb]) => [p, normalizeRGB(rgb)]);

  const globals = {
    JAVA_DOUBLE_MAX_VAL, index, inverse, colorBlend: valueInterpolate, valueInterpolate, valueMap,
    colorMap, combine, int2rgb, rgb2int, hex2rgb: int2rgb, rgb2hex: rgb2int, normalizeRGB,
    ColorMapVisualizer, ColorRampVisualizer, ColorGradientVisualizer, HighlightCompressVisualizer,
    HighlightCompressVisualizerSingle, DefaultVisualizer, Identity, decodeL8C2Qa,
    decodeS3OLCIQualityFlags, SampleType, Mosaicking, blueRed, redTemperature, greenWhite, oceanColor
  };
  for (const name of Object.keys(globals)) {
    global[name] = globals[name];
  }
})(globalThis);
