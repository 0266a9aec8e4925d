// The accuracy / cost trade-off chart of `eval --sweep --plot`: one line per method through its swept settings, the
// baseline as a marked point with a dashed accuracy line, labelled axes with round ticks, a legend and an optional
// caption. SVG only.
import NumberFormatting

public struct TradeoffChart: Sendable {
  public struct Series: Sendable {
    public var name: String
    /// (cost, accuracy in %, point label), in sweep order.
    public var points: [(x: Double, y: Double, label: String)]
    public init(name: String, points: [(x: Double, y: Double, label: String)]) { self.name = name; self.points = points }
  }

  public var title: String
  public var xLabel: String
  public var yLabel: String
  public var series: [Series]
  public var baseline: (x: Double, y: Double)?
  /// One line of small print under the chart, for what a reader must know to read a line right; nil for none.
  public var caption: String?

  public init(title: String, xLabel: String, yLabel: String, series: [Series], baseline: (x: Double, y: Double)?,
              caption: String? = nil) {
    self.title = title; self.xLabel = xLabel; self.yLabel = yLabel; self.series = series; self.baseline = baseline
    self.caption = caption
  }

  /// Okabe-Ito colours (distinguishable with the common colour-vision deficiencies), then greys.
  static let colours = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#D55E00", "#56B4E9", "#F0E442", "#000000"]

  /// 1-2-5 ticks covering lo...hi, about `count` of them.
  static func ticks(_ lo: Double, _ hi: Double, count: Int = 6) -> [Double] {
    guard hi > lo else { return [lo] }
    let raw = (hi - lo) / Double(max(1, count))
    var step = 1.0
    while step > raw { step /= 10 }
    while step * 10 <= raw { step *= 10 }
    for m in [1.0, 2.0, 5.0, 10.0] where step * m >= raw { step *= m; break }
    var out: [Double] = []
    var t = (lo / step).rounded(.up) * step
    while t <= hi + step * 1e-9 { out.append(t); t += step }
    return out
  }

  static func label(_ v: Double, step: Double) -> String {
    let decimals = step >= 1 ? 0 : step >= 0.1 ? 1 : step >= 0.01 ? 2 : 3
    return formatFixed(v, decimals: decimals)
  }

  public func svg(width: Int = 720, height: Int = 480) -> String {
    let captionRoom = caption == nil ? 0 : 18
    let left = 70.0, right = 190.0, top = 40.0, bottom = 56.0 + Double(captionRoom)
    let plotW = Double(width) - left - right, plotH = Double(height) - top - bottom
    var xs = series.flatMap { $0.points.map(\.x) }, ys = series.flatMap { $0.points.map(\.y) }
    if let baseline { xs.append(baseline.x); ys.append(baseline.y) }
    let (x0, x1) = padded(xs.min() ?? 0, xs.max() ?? 1), (y0, y1) = padded(ys.min() ?? 0, ys.max() ?? 100)
    func px(_ x: Double) -> Double { left + (x - x0) / (x1 - x0) * plotW }
    func py(_ y: Double) -> Double { top + (1 - (y - y0) / (y1 - y0)) * plotH }
    func n(_ v: Double) -> String { formatFixed(v, decimals: 1) }
    let font = "font-family=\"DejaVu Sans, Helvetica, Arial, sans-serif\""
    var s = """
      <?xml version="1.0" encoding="UTF-8"?>
      <svg xmlns="http://www.w3.org/2000/svg" width="\(width)" height="\(height)" viewBox="0 0 \(width) \(height)">
      <rect width="100%" height="100%" fill="#ffffff"/>
      <text x="\(n(left))" y="24" \(font) font-size="15" font-weight="bold">\(xmlEscaped(title))</text>

      """
    // Grid and ticks.
    let xTicks = Self.ticks(x0, x1), yTicks = Self.ticks(y0, y1)
    let xStep = xTicks.count > 1 ? xTicks[1] - xTicks[0] : 1, yStep = yTicks.count > 1 ? yTicks[1] - yTicks[0] : 1
    for t in xTicks {
      s += "<line x1=\"\(n(px(t)))\" y1=\"\(n(top))\" x2=\"\(n(px(t)))\" y2=\"\(n(top + plotH))\" stroke=\"#e5e5e5\"/>\n"
      s += "<text x=\"\(n(px(t)))\" y=\"\(n(top + plotH + 16))\" \(font) font-size=\"11\" text-anchor=\"middle\">"
        + "\(Self.label(t, step: xStep))</text>\n"
    }
    for t in yTicks {
      s += "<line x1=\"\(n(left))\" y1=\"\(n(py(t)))\" x2=\"\(n(left + plotW))\" y2=\"\(n(py(t)))\" stroke=\"#e5e5e5\"/>\n"
      s += "<text x=\"\(n(left - 6))\" y=\"\(n(py(t) + 4))\" \(font) font-size=\"11\" text-anchor=\"end\">"
        + "\(Self.label(t, step: yStep))</text>\n"
    }
    s += "<rect x=\"\(n(left))\" y=\"\(n(top))\" width=\"\(n(plotW))\" height=\"\(n(plotH))\" fill=\"none\" stroke=\"#333333\"/>\n"
    s += "<text x=\"\(n(left + plotW / 2))\" y=\"\(height - 16 - captionRoom)\" \(font) font-size=\"13\" text-anchor=\"middle\">"
      + "\(xmlEscaped(xLabel))</text>\n"
    if let caption {
      s += "<text x=\"\(n(left))\" y=\"\(height - 10)\" \(font) font-size=\"11\" fill=\"#555555\">\(xmlEscaped(caption))</text>\n"
    }
    s += "<text transform=\"translate(18 \(n(top + plotH / 2))) rotate(-90)\" \(font) font-size=\"13\" text-anchor=\"middle\">"
      + "\(xmlEscaped(yLabel))</text>\n"
    // Baseline: a dashed accuracy line and a black square.
    var legendY = top + 8
    if let baseline {
      s += "<line x1=\"\(n(left))\" y1=\"\(n(py(baseline.y)))\" x2=\"\(n(left + plotW))\" y2=\"\(n(py(baseline.y)))\" "
        + "stroke=\"#000000\" stroke-dasharray=\"4 3\" stroke-width=\"0.8\"/>\n"
      s += "<rect x=\"\(n(px(baseline.x) - 4))\" y=\"\(n(py(baseline.y) - 4))\" width=\"8\" height=\"8\" fill=\"#000000\"/>\n"
      s += legendEntry(y: legendY, colour: "#000000", name: "baseline (none)", square: true, font: font, x: left + plotW + 16)
      legendY += 20
    }
    for (i, line) in series.enumerated() {
      let colour = Self.colours[i % Self.colours.count]
      let points = line.points.map { "\(n(px($0.x))),\(n(py($0.y)))" }.joined(separator: " ")
      s += "<polyline points=\"\(points)\" fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\"/>\n"
      for p in line.points {
        s += "<circle cx=\"\(n(px(p.x)))\" cy=\"\(n(py(p.y)))\" r=\"3.5\" fill=\"\(colour)\"><title>\(xmlEscaped(line.name)) "
          + "\(xmlEscaped(p.label)): \(formatFixed(p.y, decimals: 2))%</title></circle>\n"
      }
      s += legendEntry(y: legendY, colour: colour, name: line.name, square: false, font: font, x: left + plotW + 16)
      legendY += 20
    }
    return s + "</svg>\n"
  }

  func legendEntry(y: Double, colour: String, name: String, square: Bool, font: String, x: Double) -> String {
    let n = { (v: Double) in formatFixed(v, decimals: 1) }
    let mark = square ? "<rect x=\"\(n(x + 6))\" y=\"\(n(y - 4))\" width=\"8\" height=\"8\" fill=\"\(colour)\"/>"
      : "<line x1=\"\(n(x))\" y1=\"\(n(y))\" x2=\"\(n(x + 20))\" y2=\"\(n(y))\" stroke=\"\(colour)\" stroke-width=\"2\"/>"
    return mark + "<text x=\"\(n(x + 26))\" y=\"\(n(y + 4))\" \(font) font-size=\"12\">\(xmlEscaped(name))</text>\n"
  }

  /// The range with 5% room on each side (or +-1 when flat).
  func padded(_ lo: Double, _ hi: Double) -> (Double, Double) {
    guard hi > lo else { return (lo - 1, hi + 1) }
    let room = (hi - lo) * 0.05
    return (lo - room, hi + room)
  }
}
