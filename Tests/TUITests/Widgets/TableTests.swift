import Testing
@testable import TUI

@Suite struct TableTests {
  let columns = [
    TableColumn("Method"),
    TableColumn("Tokens", width: .fixed(6), alignment: .right),
    TableColumn("GFLOPs", width: .fixed(6), alignment: .right),
  ]
  let rows = [TableRow(["baseline", "197", "4.61"]), TableRow(["ToMe r=8", "101", "2.37"])]

  @Test func headerAndRightAlignedNumbers() {
    let table = Table(columns: columns, rows: rows, headerSeparator: true)
    expectLines(rendered(table, width: 26, height: 4), [
      "Method       Tokens GFLOPs",
      "──────────────────────────",
      "baseline        197   4.61",
      "ToMe r=8        101   2.37",
    ])
  }

  @Test func selectedRowIsMarkedAndReversed() {
    let table = Table(columns: columns, rows: rows, selectedRow: 1, highlightSymbol: "▶")
    let buffer = rendered(table, width: 26, height: 3)
    expectLines(buffer, [
      " Method      Tokens GFLOPs",
      " baseline       197   4.61",
      "▶ToMe r=8       101   2.37",
    ])
    #expect(buffer.styleLines[0].hasPrefix("0 -; 1-6 bold"))
    #expect(buffer.styleLines[2] == "0-25 rev")
  }

  @Test func highlightStyleReplacesTheRowStyle() {
    let table = Table(columns: columns, rows: rows, selectedRow: 0, highlightStyle: Style(bg: .indexed(8)))
    let buffer = rendered(table, width: 26, height: 3)
    #expect(buffer.styleLines[1] == "0-25 bg=i8")
  }

  @Test func longCellsEndInAnEllipsis() {
    let table = Table(
      columns: [TableColumn("Name", width: .fixed(6)), TableColumn("N", width: .fixed(3), alignment: .right)],
      rows: [TableRow(["dynamicvit", "1234"])])
    expectLines(rendered(table, width: 10, height: 2), ["Name     N", "dynam… 12…"])
  }

  @Test func scrollingKeepsTheSelectionVisible() {
    let many = (0..<10).map { TableRow(["row \($0)"]) }
    let table = Table(columns: [TableColumn("Row")], rows: many, selectedRow: 7)
    expectLines(rendered(table, width: 6, height: 4), ["Row   ", "row 5 ", "row 6 ", "row 7 "])
    #expect(table.effectiveOffset(visibleRows: 3) == 5)

    var upward = table
    upward.selectedRow = 1
    upward.scrollOffset = 5
    #expect(upward.effectiveOffset(visibleRows: 3) == 1)
    var noSelection = table
    noSelection.selectedRow = nil
    noSelection.scrollOffset = 100
    #expect(noSelection.effectiveOffset(visibleRows: 3) == 7)  // never scrolls past the end
    #expect(noSelection.effectiveOffset(visibleRows: 0) == 0)
  }

  @Test func rowsWithoutHeaderAndShortRows() {
    let table = Table(columns: [TableColumn(""), TableColumn("", width: .fixed(2))], rows: [TableRow(["a"])])
    expectLines(rendered(table, width: 5, height: 2), ["a    ", "     "])
  }

  @Test func wideCharactersInCells() {
    let table = Table(columns: [TableColumn("名前", width: .fixed(5)), TableColumn("x", width: .fixed(1))],
      rows: [TableRow(["漢字漢字", "y"])])
    expectLines(rendered(table, width: 7, height: 2), ["名前  x", "漢字… y"])
  }

  @Test func tinyAreasDoNotCrash() {
    _ = rendered(Table(columns: columns, rows: rows, selectedRow: 0, highlightSymbol: "▶"), width: 1, height: 1)
    _ = rendered(Table(columns: [], rows: rows), width: 5, height: 5)
    _ = rendered(Table(columns: columns, rows: rows), width: 0, height: 3)
  }
}
