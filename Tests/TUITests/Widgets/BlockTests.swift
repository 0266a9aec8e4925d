import Testing
@testable import TUI

@Suite struct BlockTests {
  @Test func borderWithTitle() {
    let buffer = rendered(Block(title: "Layer 3"), width: 12, height: 3)
    expectLines(buffer, [
      "┌Layer 3───┐",
      "│          │",
      "└──────────┘",
    ])
  }

  @Test func asciiBorder() {
    let buffer = rendered(Block(title: "Layer 3", glyphs: .ascii), width: 12, height: 3)
    expectLines(buffer, [
      "+Layer 3---+",
      "|          |",
      "+----------+",
    ])
  }

  @Test func bottomTitleAndBorderKinds() {
    let buffer = rendered(
      Block(title: "Help", titleAlignment: .center, bottomTitle: "page 1/2", borderKind: .rounded), width: 12, height: 3)
    expectLines(buffer, [
      "╭───Help───╮",
      "│          │",
      "╰──page 1/2╯",
    ])
    expectLines(rendered(Block(borderKind: .double), width: 3, height: 2), ["╔═╗", "╚═╝"])
    expectLines(rendered(Block(borderKind: .thick), width: 3, height: 2), ["┏━┓", "┗━┛"])
  }

  @Test func longTitlesAreTruncatedWithAnEllipsis() {
    let buffer = rendered(Block(title: "tokenscope"), width: 8, height: 2)
    expectLines(buffer, ["┌token…┐", "└──────┘"])
  }

  @Test func titleSpansKeepTheirStyles() {
    let title = Line([Span("A", style: Style(bold: true)), Span("B", style: Style(fg: .indexed(2)))])
    let buffer = rendered(Block(title: title, borderStyle: Style(dim: true)), width: 5, height: 2)
    #expect(buffer.styleLines[0] == "0 dim; 1 bold; 2 fg=i2; 3-4 dim")
  }

  @Test func partialBordersAndInnerArea() {
    let block = Block(title: "x", borders: [.top, .bottom])
    expectLines(rendered(block, width: 5, height: 3), ["x────", "     ", "─────"])
    let area = Rect(x: 2, y: 3, width: 10, height: 5)
    #expect(block.inner(area) == Rect(x: 2, y: 4, width: 10, height: 3))
    #expect(Block().inner(area) == Rect(x: 3, y: 4, width: 8, height: 3))
    #expect(Block(borders: .none).inner(area) == area)
  }

  @Test func backgroundFillsTheBlock() {
    let buffer = rendered(Block(background: Style(bg: .indexed(4))), width: 3, height: 3)
    #expect(buffer[1, 1].style.bg == .indexed(4))
    #expect(buffer[0, 0].style == .plain)  // the border keeps its own style
  }

  @Test func tinyAreasDoNotCrash() {
    _ = rendered(Block(title: "Title"), width: 1, height: 1)
    _ = rendered(Block(title: "Title"), width: 2, height: 1)
    _ = rendered(Block(title: "Title", bottomTitle: "b"), width: 0, height: 0)
    expectLines(rendered(Block(title: "Title"), width: 2, height: 2), ["┌┐", "└┘"])
  }
}
