// The lesson box: under the maps, or beside them in a short window. Its text scrolls (PgDn/PgUp) when the box is too
// small for the page.
import NumberFormatting
import Pixels
import TUI

extension ExplorerScreen {
  func renderLesson(_ index: Int, in area: Rect, buffer: inout Buffer) {
    let page = Lesson.pages[index]
    let block = Block(title: Line(" lesson \(index + 1)/\(Lesson.pages.count): \(page.title) ", style: accent), borderKind: .rounded,
                      glyphs: glyphs)
    buffer.render(block, in: area)
    let inner = block.inner(area).inset(horizontal: 1)
    let textArea = inner.inset(bottom: 1)
    var paragraph = lessonParagraph(index)
    let total = paragraph.rowCount(width: textArea.width)
    paragraph.scroll = min(state.lessonScroll, max(0, total - textArea.height))
    buffer.render(paragraph, in: textArea)
    let above = paragraph.scroll > 0, below = paragraph.scroll + textArea.height < total
    let scroll = above || below ? (below ? "PgDn more  " : "") + (above ? "PgUp back  " : "") : ""
    let hint = scroll + (index > 0 ? "[ previous  " : "") + (index + 1 < Lesson.pages.count ? "] or Enter next  " : "") + "t leave the lesson"
    _ = buffer.set(string: hint, x: inner.x, y: inner.bottom - 1, style: dim, maxWidth: inner.width)
  }

  func lessonParagraph(_ index: Int) -> Paragraph {
    let text = Lesson.pages[index].text
    return Paragraph(ascii ? text.replacingArrow() : text.replacingOccurrences(of: "->", with: "→"), style: .plain)
  }

  /// The most rows the lesson text can be scrolled in a window of `size`.
  public static func lessonScrollLimit(state: ExplorerState, size: Size, color: Bool = true) -> Int {
    guard let index = state.lessonPage, size.width >= Layout.minimum.width, size.height >= Layout.minimum.height,
      let box = ScreenLayout.plan(state: state, size: size, color: color).lesson
    else { return 0 }
    let textArea = box.inset(by: 1).inset(horizontal: 1).inset(bottom: 1)
    let rows = ExplorerScreen(state: state, appearance: .rich).lessonParagraph(index).rowCount(width: textArea.width)
    return max(0, rows - textArea.height)
  }
}
