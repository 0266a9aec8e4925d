/// The help popup: a centred two-column Key/Description table (btop's help box) that pages when it is taller than
/// the screen, showing "page n/m" on its bottom border.
///
/// The widget is stateless: the app keeps `page` and clamps it with `pageCount(in:)` (e.g. on PgDn or a resize).
public struct HelpOverlay: Widget {
  public var entries: [KeyHint]
  /// Zero-based page to show; clamped to the available pages when drawing.
  public var page: Int
  public var title: String
  public var keyStyle: Style
  public var headerStyle: Style
  public var borderStyle: Style
  public var background: Style
  public var glyphs: Glyphs

  public init(
    entries: [KeyHint], page: Int = 0, title: String = "Help", keyStyle: Style = Style(bold: true),
    headerStyle: Style = Style(bold: true, underline: true), borderStyle: Style = .plain, background: Style = .plain,
    glyphs: Glyphs = .unicode
  ) {
    self.entries = entries
    self.page = page
    self.title = title
    self.keyStyle = keyStyle
    self.headerStyle = headerStyle
    self.borderStyle = borderStyle
    self.background = background
    self.glyphs = glyphs
  }

  static let keyHeader = "Key"
  static let descriptionHeader = "Description"

  /// Box geometry for a screen.
  public struct Layout: Hashable, Sendable {
    /// The popup's outer area.
    public var box: Rect
    /// Entries shown per page.
    public var rowsPerPage: Int
    /// Number of pages (at least 1).
    public var pageCount: Int
    /// Width of the key column.
    public var keyWidth: Int
  }

  /// The popup's geometry when centred in `screen`. Rows per page = box height − 2 borders − 1 header row.
  public func layout(in screen: Rect) -> Layout {
    let keyWidth = max(entries.map { displayWidth(of: $0.key) }.max() ?? 0, displayWidth(of: Self.keyHeader))
    let descriptionWidth = max(
      entries.map { displayWidth(of: $0.action) }.max() ?? 0, displayWidth(of: Self.descriptionHeader))
    // Borders (2) + padding (2) + key + gap (2) + description; the padded title and " page n/m " must fit too.
    let wantedWidth = max(keyWidth + 2 + descriptionWidth + 4, displayWidth(of: title) + 4, 14)
    let wantedHeight = entries.count + 3
    let box = screen.centered(width: wantedWidth, height: wantedHeight)
    let rowsPerPage = max(box.height - 3, 1)
    let pageCount = max(ceilDivide(entries.count, rowsPerPage), 1)
    return Layout(box: box, rowsPerPage: rowsPerPage, pageCount: pageCount, keyWidth: keyWidth)
  }

  /// Number of pages on a screen of `size`.
  public func pageCount(in size: Size) -> Int { layout(in: Rect(size: size)).pageCount }

  public func render(in area: Rect, buffer: inout Buffer) {
    let layout = layout(in: area)
    guard !layout.box.isEmpty else { return }
    let page = min(max(self.page, 0), layout.pageCount - 1)
    let pageEntries = entries.dropFirst(page * layout.rowsPerPage).prefix(layout.rowsPerPage)
    let table = Table(
      columns: [
        TableColumn(Self.keyHeader, width: .fixed(layout.keyWidth)),
        TableColumn(Self.descriptionHeader, width: .fill(1)),
      ],
      rows: pageEntries.map {
        TableRow([Span($0.key, style: merge(keyStyle, onto: background)), Span($0.action, style: background)])
      },
      headerStyle: merge(headerStyle, onto: background), columnSpacing: 2, glyphs: glyphs)
    let pageLabel: Line? = layout.pageCount > 1 ? Line(" page \(page + 1)/\(layout.pageCount) ", style: background) : nil
    let popup = Popup(
      content: table, title: Line(" \(title) ", style: merge(Style(bold: true), onto: background)), bottomTitle: pageLabel,
      width: layout.box.width, height: layout.box.height, borderStyle: borderStyle, background: background,
      glyphs: glyphs)
    popup.render(in: area, buffer: &buffer)
  }
}
