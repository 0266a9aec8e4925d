// The lesson box under the maps.
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
    let text = ascii ? page.text.replacingArrow() : page.text.replacingOccurrences(of: "->", with: "→")
    buffer.render(Paragraph(text, style: .plain), in: inner.inset(bottom: 1))
    let hint = (index > 0 ? "[ previous  " : "") + (index + 1 < Lesson.pages.count ? "] or Enter next  " : "") + "t leave the lesson"
    _ = buffer.set(string: hint, x: inner.x, y: inner.bottom - 1, style: dim, maxWidth: inner.width)
  }
}
