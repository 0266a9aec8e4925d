// A figure grid as in the papers: one row per method, one column per layer, the input image first. The same layout
// is written as PNG (labels drawn with the embedded font) and as SVG (labels as real text, maps as embedded PNGs).
import ImageIO
import NumberFormatting
import Pixels
import TokenMethods

public struct TokenFigure: Sendable {
  public let painter: TokenMapPainter
  public let runs: [MethodRun]
  /// 0-based blocks, one column each (after the input column).
  public let layers: [Int]
  public let view: FigureView
  public let title: String

  public init(painter: TokenMapPainter, runs: [MethodRun], layers: [Int], view: FigureView, title: String) {
    self.painter = painter; self.runs = runs; self.layers = layers; self.view = view; self.title = title
  }

  // MARK: Layout (shared by PNG and SVG)

  static let margin = 12, gap = 8
  var line: Int { Canvas.lineHeight }
  var cellWidth: Int { painter.width }
  var cellHeight: Int { painter.height }
  var columns: Int { 1 + layers.count }
  /// Column pitch: wide enough for the map and for its longest caption.
  var pitch: Int {
    let captions = runs.flatMap { run in layers.map { caption(run: run, layer: $0) } } + layers.map(header)
    return max(cellWidth, captions.map(Canvas.textWidth).max() ?? 0) + Self.gap
  }
  var headerY: Int { Self.margin + line + 6 }
  func rowY(_ row: Int) -> Int { headerY + line + 4 + row * (line + 4 + cellHeight + line + 10) }
  func columnX(_ column: Int) -> Int { Self.margin + column * pitch }
  public var width: Int {
    max(Self.margin * 2 + columns * pitch - Self.gap,
        Self.margin * 2 + ([title] + runs.map(rowLabel)).map(Canvas.textWidth).max()!,
        view == .attention ? Self.margin * 2 + Self.colorBarWidth + Self.gap + Canvas.textWidth(Self.colorBarCaption) : 0)
  }
  public var height: Int { rowY(runs.count) + Self.margin - 10 + colorBarHeight }

  // The attention view's colour bar under the grid: viridis from 0 to each map's maximum (its caption gives it).
  static let colorBarWidth = 160, colorBarThickness = 10
  var colorBarHeight: Int { view == .attention ? Self.colorBarThickness + line + 8 : 0 }
  var colorBarY: Int { rowY(runs.count) - 4 }
  static let colorBarCaption = "CLS attention, mean of heads: 0 to each map's max (in its caption)"

  /// The colour bar as a picture, left (0) to right (the map's maximum).
  func colorBar() -> Canvas {
    var bar = Canvas(width: Self.colorBarWidth, height: Self.colorBarThickness)
    for x in 0..<Self.colorBarWidth {
      bar.fill(x: x, y: 0, width: 1, height: Self.colorBarThickness,
               color: SequentialPalette.viridis.rgb(at: Double(x) / Double(Self.colorBarWidth - 1)))
    }
    return bar
  }

  func header(_ layer: Int) -> String { "after block \(layer)" }

  func rowLabel(_ run: MethodRun) -> String {
    let share = 100 * Double(run.totalMACs) / Double(max(1, run.baselineMACs))
    return "\(run.spec.canonical)   \(macsText(run.totalMACs)) MACs (\(formatFixed(share, decimals: 1))% of \(macsText(run.baselineMACs)))"
  }

  func caption(run: MethodRun, layer: Int) -> String {
    let view = run.layers[layer]
    // A method that calibrated its counts (DToMe) puts this image's count beside the calibration's average.
    let reference = view.annotations?.reference.map { " (avg \(Int($0.tokensOut.rounded())))" } ?? ""
    let top = self.view == .attention ? ", max " + formatFixed(Double(view.attention(head: nil).max() ?? 0), decimals: 3) : ""
    return "\(view.tokensOut) tok\(reference), \(macsText(view.cumulativeMACs))" + top
  }

  func inputCaption(_ run: MethodRun) -> String { "\(run.grid.rows * run.grid.cols) patches" }

  /// (x, y, map, caption) of every cell, row by row.
  func cells() -> [(x: Int, y: Int, map: Canvas, caption: String)] {
    var out: [(Int, Int, Canvas, String)] = []
    let input = painter.paint(.image, layer: nil)
    for (r, run) in runs.enumerated() {
      let y = rowY(r) + line + 4
      out.append((columnX(0), y, input, inputCaption(run)))
      for (c, layer) in layers.enumerated() {
        out.append((columnX(c + 1), y, painter.regridded(run.grid).paint(view, layer: run.layers[layer]), caption(run: run, layer: layer)))
      }
    }
    return out
  }

  // MARK: PNG

  public func raster() -> Canvas {
    var canvas = Canvas(width: width, height: height)
    let ink = RGB(0, 0, 0), muted = RGB(90, 90, 90)
    canvas.text(title, x: Self.margin, y: Self.margin, color: ink)
    canvas.text("input", x: columnX(0), y: headerY, color: muted)
    for (c, layer) in layers.enumerated() { canvas.text(header(layer), x: columnX(c + 1), y: headerY, color: muted) }
    for (r, run) in runs.enumerated() { canvas.text(rowLabel(run), x: Self.margin, y: rowY(r), color: ink) }
    for cell in cells() {
      canvas.draw(cell.map, x: cell.x, y: cell.y)
      canvas.text(cell.caption, x: cell.x, y: cell.y + cellHeight + 3, color: muted)
    }
    if colorBarHeight > 0 {
      canvas.draw(colorBar(), x: Self.margin, y: colorBarY)
      let labelY = colorBarY + Self.colorBarThickness + 3
      canvas.text("0", x: Self.margin, y: labelY, color: muted)
      canvas.text("max", x: Self.margin + Self.colorBarWidth - Canvas.textWidth("max"), y: labelY, color: muted)
      canvas.text(Self.colorBarCaption, x: Self.margin + Self.colorBarWidth + Self.gap, y: colorBarY, color: muted)
    }
    return canvas
  }

  public func png() throws(ImageError) -> [UInt8] { try PNGWriter.encode(raster().image) }

  // MARK: SVG

  public func svg() throws(ImageError) -> String {
    let font = "font-family=\"DejaVu Sans Mono, Menlo, Consolas, monospace\" font-size=\"11\""
    var s = """
      <?xml version="1.0" encoding="UTF-8"?>
      <svg xmlns="http://www.w3.org/2000/svg" xmlns:xlink="http://www.w3.org/1999/xlink" width="\(width)" \
      height="\(height)" viewBox="0 0 \(width) \(height)">
      <rect width="100%" height="100%" fill="#ffffff"/>

      """
    // Text baselines: the PNG draws glyph boxes from the top; 11 px text has its baseline about 10 px lower.
    func text(_ string: String, _ x: Int, _ y: Int, fill: String) -> String {
      "<text x=\"\(x)\" y=\"\(y + 10)\" \(font) fill=\"\(fill)\" xml:space=\"preserve\">\(xmlEscaped(string))</text>\n"
    }
    s += text(title, Self.margin, Self.margin, fill: "#000000")
    s += text("input", columnX(0), headerY, fill: "#5a5a5a")
    for (c, layer) in layers.enumerated() { s += text(header(layer), columnX(c + 1), headerY, fill: "#5a5a5a") }
    for (r, run) in runs.enumerated() { s += text(rowLabel(run), Self.margin, rowY(r), fill: "#000000") }
    for cell in cells() {
      let data = base64(try PNGWriter.encode(cell.map.image))
      s += "<image x=\"\(cell.x)\" y=\"\(cell.y)\" width=\"\(cell.map.width)\" height=\"\(cell.map.height)\" "
        + "xlink:href=\"data:image/png;base64,\(data)\"/>\n"
      s += text(cell.caption, cell.x, cell.y + cellHeight + 3, fill: "#5a5a5a")
    }
    if colorBarHeight > 0 {
      let bar = colorBar()
      s += "<image x=\"\(Self.margin)\" y=\"\(colorBarY)\" width=\"\(bar.width)\" height=\"\(bar.height)\" "
        + "xlink:href=\"data:image/png;base64,\(base64(try PNGWriter.encode(bar.image)))\"/>\n"
      let labelY = colorBarY + Self.colorBarThickness + 3
      s += text("0", Self.margin, labelY, fill: "#5a5a5a")
      s += text("max", Self.margin + Self.colorBarWidth - Canvas.textWidth("max"), labelY, fill: "#5a5a5a")
      s += text(Self.colorBarCaption, Self.margin + Self.colorBarWidth + Self.gap, colorBarY, fill: "#5a5a5a")
    }
    return s + "</svg>\n"
  }
}

/// MACs as "1.23G" or, below 0.1 G, "45.6M".
func macsText(_ macs: Int) -> String {
  macs >= 100_000_000 ? formatFixed(Double(macs) / 1e9, decimals: 2) + "G" : formatFixed(Double(macs) / 1e6, decimals: 1) + "M"
}

func xmlEscaped(_ s: String) -> String {
  var out = ""
  for c in s {
    switch c {
    case "&": out += "&amp;"
    case "<": out += "&lt;"
    case ">": out += "&gt;"
    case "\"": out += "&quot;"
    case "'": out += "&apos;"
    default: out.append(c)
    }
  }
  return out
}

func base64(_ bytes: [UInt8]) -> String {
  let table = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
  var out = [UInt8]()
  out.reserveCapacity((bytes.count + 2) / 3 * 4)
  var i = 0
  while i < bytes.count {
    let b0 = Int(bytes[i]), b1 = i + 1 < bytes.count ? Int(bytes[i + 1]) : 0, b2 = i + 2 < bytes.count ? Int(bytes[i + 2]) : 0
    out.append(table[b0 >> 2])
    out.append(table[((b0 & 3) << 4) | (b1 >> 4)])
    out.append(i + 1 < bytes.count ? table[((b1 & 15) << 2) | (b2 >> 6)] : UInt8(ascii: "="))
    out.append(i + 2 < bytes.count ? table[b2 & 63] : UInt8(ascii: "="))
    i += 3
  }
  return String(decoding: out, as: UTF8.self)
}
