/// A bordered box centred over whatever was drawn before, with its own content: dialogs, help, confirmations.
///
/// The box area is cleared first so the screen behind does not show through. The requested size is clamped to the
/// screen, so a popup on a tiny terminal shrinks instead of overflowing.
public struct Popup<Content: Widget>: Widget {
  public var content: Content
  public var title: Line?
  public var bottomTitle: Line?
  /// Requested outer size, borders included.
  public var width: Int
  public var height: Int
  public var borderStyle: Style
  public var background: Style
  public var borderKind: BorderKind
  public var glyphs: Glyphs

  public init(
    content: Content, title: Line? = nil, bottomTitle: Line? = nil, width: Int, height: Int,
    borderStyle: Style = .plain, background: Style = .plain, borderKind: BorderKind = .rounded,
    glyphs: Glyphs = .unicode
  ) {
    self.content = content
    self.title = title
    self.bottomTitle = bottomTitle
    self.width = width
    self.height = height
    self.borderStyle = borderStyle
    self.background = background
    self.borderKind = borderKind
    self.glyphs = glyphs
  }

  var block: Block {
    Block(
      title: title, bottomTitle: bottomTitle, borderKind: borderKind,
      borderStyle: merge(borderStyle, onto: background), background: background, glyphs: glyphs)
  }

  /// The box's outer area when centred in `screen`.
  public func boxArea(in screen: Rect) -> Rect { screen.centered(width: width, height: height) }

  public func render(in area: Rect, buffer: inout Buffer) {
    let box = boxArea(in: area)
    guard !box.isEmpty else { return }
    buffer.render(block, in: box)
    buffer.render(content, in: block.inner(box).inset(horizontal: 1))
  }
}
