/// Which sides of a `Block` have a border.
public struct Borders: OptionSet, Hashable, Sendable {
  public let rawValue: UInt8
  public init(rawValue: UInt8) { self.rawValue = rawValue }

  public static let top = Borders(rawValue: 1)
  public static let bottom = Borders(rawValue: 2)
  public static let left = Borders(rawValue: 4)
  public static let right = Borders(rawValue: 8)
  public static let all: Borders = [.top, .bottom, .left, .right]
  public static let none: Borders = []
}

/// A border with optional titles around a region; other widgets draw in `inner(_:)`.
///
/// ```
/// ┌Layer 3──────┐
/// │             │
/// └────page 1/2─┘
/// ```
/// Titles sit on the top border right after the corner (aligned by `titleAlignment`); the bottom title sits on the
/// bottom border. Both are truncated with an ellipsis when the box is narrow. With `Glyphs.ascii` the border is
/// drawn with `+`, `-` and `|`.
public struct Block: Widget {
  public var title: Line?
  public var titleAlignment: Alignment
  public var bottomTitle: Line?
  public var bottomTitleAlignment: Alignment
  public var borders: Borders
  public var borderKind: BorderKind
  public var borderStyle: Style
  /// Fills the whole block (border included) before drawing, when set: for panels with a background colour.
  public var background: Style?
  public var glyphs: Glyphs

  public init(
    title: Line? = nil, titleAlignment: Alignment = .left,
    bottomTitle: Line? = nil, bottomTitleAlignment: Alignment = .right,
    borders: Borders = .all, borderKind: BorderKind = .plain, borderStyle: Style = .plain,
    background: Style? = nil, glyphs: Glyphs = .unicode
  ) {
    self.title = title
    self.titleAlignment = titleAlignment
    self.bottomTitle = bottomTitle
    self.bottomTitleAlignment = bottomTitleAlignment
    self.borders = borders
    self.borderKind = borderKind
    self.borderStyle = borderStyle
    self.background = background
    self.glyphs = glyphs
  }

  /// The area left inside the borders.
  public func inner(_ area: Rect) -> Rect {
    area.inset(
      top: borders.contains(.top) ? 1 : 0, left: borders.contains(.left) ? 1 : 0,
      bottom: borders.contains(.bottom) ? 1 : 0, right: borders.contains(.right) ? 1 : 0)
  }

  public func render(in area: Rect, buffer: inout Buffer) {
    guard !area.isEmpty else { return }
    if let background { buffer.clear(area, style: background) }
    let box = glyphs.box(borderKind)
    let left = area.x
    let right = area.right - 1
    let top = area.y
    let bottom = area.bottom - 1
    if borders.contains(.top) {
      for x in left...right { buffer[x, top] = Cell(box.horizontal, style: borderStyle) }
    }
    if borders.contains(.bottom) {
      for x in left...right { buffer[x, bottom] = Cell(box.horizontal, style: borderStyle) }
    }
    if borders.contains(.left) {
      for y in top...bottom { buffer[left, y] = Cell(box.vertical, style: borderStyle) }
    }
    if borders.contains(.right) {
      for y in top...bottom { buffer[right, y] = Cell(box.vertical, style: borderStyle) }
    }
    if borders.isSuperset(of: [.top, .left]) { buffer[left, top] = Cell(box.topLeft, style: borderStyle) }
    if borders.isSuperset(of: [.top, .right]) { buffer[right, top] = Cell(box.topRight, style: borderStyle) }
    if borders.isSuperset(of: [.bottom, .left]) { buffer[left, bottom] = Cell(box.bottomLeft, style: borderStyle) }
    if borders.isSuperset(of: [.bottom, .right]) { buffer[right, bottom] = Cell(box.bottomRight, style: borderStyle) }

    // Titles stay clear of the corners.
    let titleArea = area.inset(left: borders.contains(.left) ? 1 : 0, right: borders.contains(.right) ? 1 : 0)
    if let title {
      drawTitle(title, alignment: titleAlignment, row: top, in: titleArea, buffer: &buffer)
    }
    if let bottomTitle, area.height > 1 || !borders.contains(.top) {
      drawTitle(bottomTitle, alignment: bottomTitleAlignment, row: bottom, in: titleArea, buffer: &buffer)
    }
  }

  private func drawTitle(_ title: Line, alignment: Alignment, row: Int, in area: Rect, buffer: inout Buffer) {
    guard area.width > 0 else { return }
    let fitted = fit(title, toWidth: area.width, ellipsis: glyphs.ellipsis)
    var line = fitted
    line.alignment = alignment
    buffer.set(line: line, in: Rect(x: area.x, y: row, width: area.width, height: 1))
  }
}

/// `line` cut to `width` columns with `ellipsis` at the end when it is too long, keeping span styles (the ellipsis
/// takes the style of the last kept span). When even the ellipsis does not fit, the line is simply cut.
func fit(_ line: Line, toWidth width: Int, ellipsis: String) -> Line {
  guard line.width > width else { return line }
  let ellipsisWidth = displayWidth(of: ellipsis)
  let addsEllipsis = ellipsisWidth < width
  var remaining = addsEllipsis ? width - ellipsisWidth : max(width, 0)
  var spans: [Span] = []
  for span in line.spans where remaining > 0 {
    let piece = prefix(of: span.text, fittingWidth: remaining)
    if !piece.isEmpty { spans.append(Span(piece, style: span.style)) }
    remaining -= displayWidth(of: piece)
    if piece.count < span.text.count { break }
  }
  if addsEllipsis {
    spans.append(Span(ellipsis, style: spans.last?.style ?? line.spans.first?.style ?? .plain))
  }
  return Line(spans, alignment: line.alignment)
}
