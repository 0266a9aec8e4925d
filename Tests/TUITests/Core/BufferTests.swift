import Testing
@testable import TUI

@Suite struct BufferTests {
  @Test func setStringClipsToTheArea() {
    var buffer = Buffer(size: Size(width: 5, height: 2))
    let end = buffer.set(string: "tokenscope", x: 1, y: 0)
    #expect(end == 5)
    buffer.set(string: "xyz", x: -2, y: 1)
    buffer.set(string: "outside", x: 0, y: 5)
    expectLines(buffer, [" toke", "z    "])
  }

  @Test func positionAndCoordinateFormsAgree() {
    var byPosition = Buffer(size: Size(width: 4, height: 2))
    var byCoordinates = byPosition
    let end = byPosition.set(string: "ab", at: Position(x: 1, y: 1), style: Style(bold: true))
    byCoordinates.set(string: "ab", x: 1, y: 1, style: Style(bold: true))
    #expect(end == 3)
    #expect(byPosition == byCoordinates)
    #expect(Rect(x: 2, y: 3, width: 1, height: 1).origin == Position(x: 2, y: 3))
  }

  @Test func maxWidthLimitsTheWrite() {
    var buffer = Buffer(size: Size(width: 8, height: 1))
    buffer.set(string: "abcdef", x: 1, y: 0, maxWidth: 3)
    expectLines(buffer, [" abc    "])
  }

  @Test func wideCharactersTakeTwoCellsAndDoNotStraddleTheEdge() {
    var buffer = Buffer(size: Size(width: 5, height: 1))
    let end = buffer.set(string: "漢字漢", x: 0, y: 0)
    #expect(end == 4)
    #expect(buffer[0, 0].symbol == "漢")
    #expect(buffer[1, 0].isContinuation)
    #expect(buffer[4, 0].symbol == " ")
    #expect(buffer.lines == ["漢字 "])
  }

  @Test func overwritingHalfAWideCharacterBlanksTheOtherHalf() {
    var buffer = Buffer(size: Size(width: 4, height: 1))
    buffer.set(string: "漢字", x: 0, y: 0)
    buffer.set(string: "x", x: 1, y: 0)  // right half of 漢
    #expect(buffer.lines == [" x字"])
    buffer.set(string: "y", x: 2, y: 0)  // left half of 字
    #expect(buffer.lines == [" xy "])
    #expect(buffer.cells.allSatisfy { !$0.isContinuation })
  }

  @Test func wideCharacterStraddlingTheLeftClipEdgeBecomesASpace() {
    var buffer = Buffer(area: Rect(x: 2, y: 0, width: 3, height: 1))
    buffer.set(string: "a漢b", x: 0, y: 0)
    #expect(buffer.lines == [" b "])  // columns 2, 3, 4: half of 漢, then b
  }

  @Test func linesRoundTrip() {
    let buffer = Buffer(lines: ["┌─┐", "│漢│", "└─┘"])
    #expect(buffer.area.size == Size(width: 4, height: 3))
    #expect(buffer.lines == ["┌─┐ ", "│漢│", "└─┘ "])
  }

  @Test func fillClearAndStyles() {
    var buffer = Buffer(size: Size(width: 4, height: 2))
    buffer.set(string: "ab", x: 0, y: 0)
    buffer.fill(Rect(x: 1, y: 0, width: 10, height: 1), with: Cell("#"))
    buffer.setStyle(Style(fg: .indexed(1)), in: Rect(x: 0, y: 1, width: 2, height: 1))
    buffer.modifyStyle(in: Rect(x: 1, y: 1, width: 2, height: 1)) { $0.bold = true }
    #expect(buffer.lines == ["a###", "    "])
    #expect(buffer.styleLines == ["0-3 -", "0 fg=i1; 1 fg=i1 bold; 2 bold; 3 -"])
  }

  @Test func subscriptOutsideTheAreaIsIgnored() {
    var buffer = Buffer(size: Size(width: 2, height: 1))
    buffer[5, 5] = Cell("x")
    #expect(buffer[5, 5] == .blank)
    #expect(buffer.lines == ["  "])
  }

  @Test func diffListsOnlyChangedCells() {
    var before = Buffer(size: Size(width: 4, height: 2))
    before.set(string: "abcd", x: 0, y: 0)
    var after = before
    after.set(string: "X", x: 2, y: 0)
    after.set(string: "Y", x: 0, y: 1, style: Style(bold: true))
    let changes = after.diff(from: before)
    #expect(changes.map { [$0.x, $0.y] } == [[2, 0], [0, 1]])
    #expect(changes.map(\.cell.symbol) == ["X", "Y"])
    #expect(after.diff(from: after).isEmpty)
  }

  @Test func styleOnlyChangesAreDiffed() {
    let before = Buffer(lines: ["ab"])
    var after = before
    after.modifyStyle(in: Rect(x: 1, y: 0, width: 1, height: 1)) { $0.reverse = true }
    #expect(after.diff(from: before).map(\.x) == [1])
  }

  @Test func diffSkipsContinuationCellsAndRedrawsEverythingAfterAResize() {
    let before = Buffer(lines: ["abcd"])
    let after = Buffer(lines: ["a漢d"])
    let changes = after.diff(from: before)
    #expect(changes.map(\.x) == [1])  // the wide character covers column 2
    #expect(changes[0].cell.symbol == "漢")

    let resized = Buffer(size: Size(width: 3, height: 2))
    #expect(resized.diff(from: before).count == 6)
  }

  @Test func styleLinesDescribeRuns() {
    var buffer = Buffer(size: Size(width: 6, height: 1))
    buffer.set(string: "ab", x: 0, y: 0, style: Style(fg: .rgb(255, 0, 16), bold: true))
    buffer.set(string: "c", x: 4, y: 0, style: Style(bg: .indexed(42), dim: true, reverse: true, underline: true))
    #expect(buffer.styleLines == ["0-1 fg=#ff0010 bold; 2-3 -; 4 bg=i42 dim rev ul; 5 -"])
  }

  @Test func renderClipsWidgetsToTheBuffer() {
    var buffer = Buffer(size: Size(width: 3, height: 1))
    buffer.render(Paragraph("hello"), in: Rect(x: 1, y: 0, width: 10, height: 5))
    expectLines(buffer, [" he"])
  }
}
