// Dataset-level figures for `eval --maps`: a method's mean patch-state rates as a grid of small maps (one row per
// state, one column per layer), and a method x method agreement matrix. Both as PNG (Canvas) and SVG (plain rects
// and text), from plain arrays so the CLI decides what the numbers are.
import NumberFormatting
import Pixels

public enum DatasetMapFigure {
  /// rates[row][layer][patch] in 0...1 over a `rows` x `cols` patch grid; one figure row per `rowNames` entry.
  public struct Grid: Sendable {
    public let title: String
    public let rowNames: [String]
    public let rates: [[[Double]]]
    public let gridRows: Int, gridCols: Int
    public init(title: String, rowNames: [String], rates: [[[Double]]], gridRows: Int, gridCols: Int) {
      self.title = title; self.rowNames = rowNames; self.rates = rates; self.gridRows = gridRows; self.gridCols = gridCols
    }

    var layers: Int { rates.first?.count ?? 0 }
    /// Pixels per patch: maps of about 56 px whatever the grid.
    var cell: Int { max(2, 56 / max(gridRows, gridCols)) }
    static let labelWidth = 64, gap = 6, top = 34

    func origin(row: Int, layer: Int) -> (x: Int, y: Int) {
      (Grid.labelWidth + layer * (gridCols * cell + Grid.gap), Grid.top + row * (gridRows * cell + Grid.gap))
    }
    var size: (width: Int, height: Int) {
      let o = origin(row: rowNames.count, layer: layers)
      return (max(o.x + 4, Canvas.textWidth(title) + 8), o.y + 22)
    }
  }

  static let palette = SequentialPalette.viridis

  public static func png(_ g: Grid) -> PixelImage {
    var canvas = Canvas(width: g.size.width, height: g.size.height)
    _ = canvas.text(g.title, x: 4, y: 4)
    for layer in 0..<g.layers {
      let o = g.origin(row: 0, layer: layer)
      _ = canvas.text("\(layer)", x: o.x, y: Grid.top - 12)
    }
    for (row, name) in g.rowNames.enumerated() {
      _ = canvas.text(name, x: 4, y: g.origin(row: row, layer: 0).y + 2)
      for layer in 0..<g.layers {
        let o = g.origin(row: row, layer: layer)
        for p in 0..<(g.gridRows * g.gridCols) {
          canvas.fill(x: o.x + (p % g.gridCols) * g.cell, y: o.y + (p / g.gridCols) * g.cell, width: g.cell, height: g.cell,
                      color: palette.rgb(at: g.rates[row][layer][p]))
        }
      }
    }
    _ = canvas.text("colour: rate 0 (dark) to 1 (bright); columns: blocks", x: 4, y: g.size.height - 14)
    return canvas.image
  }

  public static func svg(_ g: Grid) -> String {
    var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(g.size.width)\" height=\"\(g.size.height)\" font-family=\"sans-serif\" font-size=\"10\">\n"
    out += "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n<text x=\"4\" y=\"14\">\(escape(g.title))</text>\n"
    for layer in 0..<g.layers { out += "<text x=\"\(g.origin(row: 0, layer: layer).x)\" y=\"\(Grid.top - 4)\">\(layer)</text>\n" }
    for (row, name) in g.rowNames.enumerated() {
      out += "<text x=\"4\" y=\"\(g.origin(row: row, layer: 0).y + 10)\">\(escape(name))</text>\n"
      for layer in 0..<g.layers {
        let o = g.origin(row: row, layer: layer)
        for p in 0..<(g.gridRows * g.gridCols) {
          let rate = g.rates[row][layer][p]
          out += "<rect x=\"\(o.x + (p % g.gridCols) * g.cell)\" y=\"\(o.y + (p / g.gridCols) * g.cell)\" width=\"\(g.cell)\" height=\"\(g.cell)\" fill=\"\(hex(palette.rgb(at: rate)))\"><title>\(formatFixed(rate, decimals: 3))</title></rect>\n"
        }
      }
    }
    out += "<text x=\"4\" y=\"\(g.size.height - 6)\">colour: rate 0 (dark) to 1 (bright); columns: blocks</text>\n</svg>\n"
    return out
  }

  /// values[i][j] in 0...1 (nil: not comparable, drawn grey) for each pair of `names`, one panel per title.
  public struct Matrix: Sendable {
    public let title: String
    public let names: [String]
    public let panels: [(title: String, values: [[Double?]])]
    public init(title: String, names: [String], panels: [(title: String, values: [[Double?]])]) {
      self.title = title; self.names = names; self.panels = panels
    }
    static let cell = 40, top = 40
    var labelWidth: Int { 8 + (names.map(\.count).max() ?? 0) * BitmapFont.width }
    var panelWidth: Int { labelWidth + max(names.count * Matrix.cell, panels.map { Canvas.textWidth($0.title) }.max() ?? 0) + 24 }
    var size: (width: Int, height: Int) { (max(panels.count * panelWidth + 8, Canvas.textWidth(title) + 8), Matrix.top + names.count * Matrix.cell + 20 + names.count * 12) }
  }

  public static func png(_ m: Matrix) -> PixelImage {
    var canvas = Canvas(width: m.size.width, height: m.size.height)
    _ = canvas.text(m.title, x: 4, y: 4)
    for (k, panel) in m.panels.enumerated() {
      let x0 = k * m.panelWidth + m.labelWidth
      _ = canvas.text(panel.title, x: x0, y: 20)
      for (i, name) in m.names.enumerated() {
        _ = canvas.text(name, x: k * m.panelWidth + 4, y: Matrix.top + i * Matrix.cell + 16)
        _ = canvas.text("\(i + 1)", x: x0 + i * Matrix.cell + 16, y: Matrix.top + m.names.count * Matrix.cell + 4)
        for j in 0..<m.names.count {
          let v = panel.values[i][j]
          let color = v.map { palette.rgb(at: $0) } ?? RGB(200, 200, 200)
          canvas.fill(x: x0 + j * Matrix.cell, y: Matrix.top + i * Matrix.cell, width: Matrix.cell - 1, height: Matrix.cell - 1, color: color)
          if let v {
            _ = canvas.text(formatFixed(v, decimals: 2), x: x0 + j * Matrix.cell + 4, y: Matrix.top + i * Matrix.cell + 16,
                            color: color.luminance > 0.5 ? RGB(0, 0, 0) : RGB(255, 255, 255))
          }
        }
      }
    }
    for (i, name) in m.names.enumerated() {
      _ = canvas.text("\(i + 1) = \(name)", x: 4, y: Matrix.top + m.names.count * Matrix.cell + 18 + i * 12)
    }
    return canvas.image
  }

  public static func svg(_ m: Matrix) -> String {
    var out = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(m.size.width)\" height=\"\(m.size.height)\" font-family=\"sans-serif\" font-size=\"10\">\n"
    out += "<rect width=\"100%\" height=\"100%\" fill=\"#fff\"/>\n<text x=\"4\" y=\"14\">\(escape(m.title))</text>\n"
    for (k, panel) in m.panels.enumerated() {
      let x0 = k * m.panelWidth + m.labelWidth
      out += "<text x=\"\(x0)\" y=\"30\">\(escape(panel.title))</text>\n"
      for (i, name) in m.names.enumerated() {
        out += "<text x=\"\(k * m.panelWidth + 4)\" y=\"\(Matrix.top + i * Matrix.cell + 24)\">\(escape(name))</text>\n"
        for j in 0..<m.names.count {
          let v = panel.values[i][j]
          let color = v.map { palette.rgb(at: $0) } ?? RGB(200, 200, 200)
          out += "<rect x=\"\(x0 + j * Matrix.cell)\" y=\"\(Matrix.top + i * Matrix.cell)\" width=\"\(Matrix.cell - 1)\" height=\"\(Matrix.cell - 1)\" fill=\"\(hex(color))\"/>\n"
          if let v {
            out += "<text x=\"\(x0 + j * Matrix.cell + 6)\" y=\"\(Matrix.top + i * Matrix.cell + 24)\" fill=\"\(color.luminance > 0.5 ? "#000" : "#fff")\">\(formatFixed(v, decimals: 2))</text>\n"
          }
        }
      }
    }
    out += "</svg>\n"
    return out
  }

  static func hex(_ c: RGB) -> String {
    let digits = Array("0123456789abcdef")
    return "#" + [c.r, c.g, c.b].map { String([digits[Int($0 >> 4)], digits[Int($0 & 15)]]) }.joined()
  }

  static func escape(_ s: String) -> String {
    s.replacingAll("&", "&amp;").replacingAll("<", "&lt;").replacingAll(">", "&gt;")
  }
}

extension String {
  fileprivate func replacingAll(_ target: String, _ replacement: String) -> String {
    split(separator: Character(target), omittingEmptySubsequences: false).joined(separator: replacement)
  }
}
