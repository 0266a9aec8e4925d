/// Horizontal placement of a line or label within its area.
public enum Alignment: Hashable, Sendable {
  case left
  case center
  case right

  /// The column offset at which content of `contentWidth` starts inside `availableWidth`.
  public func offset(contentWidth: Int, availableWidth: Int) -> Int {
    let slack = max(availableWidth - contentWidth, 0)
    switch self {
    case .left: return 0
    case .center: return slack / 2
    case .right: return slack
    }
  }
}

/// A run of text in one style.
public struct Span: Hashable, Sendable, ExpressibleByStringInterpolation {
  public var text: String
  public var style: Style

  public init(_ text: String, style: Style = .plain) {
    self.text = text
    self.style = style
  }

  public init(stringLiteral value: String) { self.init(value) }

  /// Columns the text covers.
  public var width: Int { displayWidth(of: text) }
}

/// One line of styled text: spans drawn left to right, placed by `alignment`.
public struct Line: Hashable, Sendable, ExpressibleByStringInterpolation {
  public var spans: [Span]
  public var alignment: Alignment

  public init(_ spans: [Span], alignment: Alignment = .left) {
    self.spans = spans
    self.alignment = alignment
  }

  public init(_ text: String, style: Style = .plain, alignment: Alignment = .left) {
    self.init([Span(text, style: style)], alignment: alignment)
  }

  public init(stringLiteral value: String) { self.init(value) }

  /// Columns the whole line covers.
  public var width: Int { spans.reduce(0) { $0 + $1.width } }

  /// The plain text without styles.
  public var plainText: String { spans.map(\.text).joined() }
}

extension Buffer {
  /// Draws `line` in `area`'s first row, aligned by `line.alignment` and clipped to `area`'s width.
  /// - Returns: the column after the last written cell.
  @discardableResult
  public mutating func set(line: Line, in area: Rect) -> Int {
    guard !area.isEmpty else { return area.x }
    var x = area.x + line.alignment.offset(contentWidth: line.width, availableWidth: area.width)
    for span in line.spans {
      let room = area.right - x
      if room <= 0 { break }
      x = set(string: span.text, x: x, y: area.y, style: span.style, maxWidth: room)
    }
    return x
  }
}
