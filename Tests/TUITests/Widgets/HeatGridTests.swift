import Testing
@testable import TUI

@Suite struct HeatGridTests {
  let values: [[Double?]] = [[0, 0.5, 1], [1, nil, 0]]

  @Test func monochromeUsesADensityRamp() {
    let grid = HeatGrid(values: values, appearance: .unicodeMonochrome)
    expectLines(rendered(grid, width: 6, height: 2), ["  ▒▒██", "██·   "])
    let ascii = HeatGrid(values: values, appearance: .asciiMonochrome)
    expectLines(rendered(ascii, width: 6, height: 2), ["  ::##", "##.   "])
  }

  @Test func colourCellsUseTheScaleAsBackground() {
    let grid = HeatGrid(values: values, colorScale: { .indexed(UInt8(($0 * 10).rounded())) }, cellWidth: 1)
    let buffer = rendered(grid, width: 3, height: 2)
    #expect(buffer.styleLines == ["0 bg=i0; 1 bg=i5; 2 bg=i10", "0 bg=i10; 1 dim; 2 bg=i0"])
    #expect(buffer.lines == ["   ", " · "])
  }

  @Test func labelsOnTopAndLeft() {
    let grid = HeatGrid(
      values: values, rowLabels: ["L0", "L1"], columnLabels: ["0", "1", "2"], appearance: .unicodeMonochrome)
    expectLines(rendered(grid, width: 9, height: 3), ["   0 1 2 ", "L0   ▒▒██", "L1 ██·   "])
  }

  @Test func explicitRangeClampsValues() {
    let grid = HeatGrid(values: [[-5, 5, 50]], range: 0...10, cellWidth: 1, appearance: .unicodeMonochrome)
    expectLines(rendered(grid, width: 3, height: 1), [" ▒█"])
    #expect(HeatGrid(values: [[Double?]]([[nil]])).resolvedRange == 0...1)
    #expect(HeatGrid(values: [[2.0, 4.0]]).resolvedRange == 2...4)
  }

  @Test func highlightMarksTheCursorCell() {
    let grid = HeatGrid(values: values, highlighted: GridPosition(row: 0, column: 1), appearance: .rich)
    let buffer = rendered(grid, width: 6, height: 2)
    #expect(buffer.lines[0] == "  []  ")
    #expect(buffer[2, 0].style.bold)
    let mono = rendered(HeatGrid(values: values, highlighted: GridPosition(row: 1, column: 1), appearance: .unicodeMonochrome), width: 6, height: 2)
    #expect(mono.lines[1] == "██[]  ")
  }

  @Test func hitTestingMapsCellsToValues() {
    let grid = HeatGrid(values: values, rowLabels: ["L0", "L1"], columnLabels: ["a", "b", "c"])
    let area = Rect(x: 10, y: 5, width: 20, height: 5)
    // Labels take 3 columns and 1 row; each value is 2 columns wide.
    #expect(grid.position(atX: 13, y: 6, in: area) == GridPosition(row: 0, column: 0))
    #expect(grid.position(atX: 18, y: 7, in: area) == GridPosition(row: 1, column: 2))
    #expect(grid.position(atX: 12, y: 6, in: area) == nil)  // on a label
    #expect(grid.position(atX: 19, y: 6, in: area) == nil)  // past the last column
    #expect(grid.position(atX: 13, y: 8, in: area) == nil)  // past the last row
  }

  @Test func raggedRowsAndTinyAreas() {
    let grid = HeatGrid(values: [[1.0], [0.0, 1.0]], cellWidth: 1, appearance: .unicodeMonochrome)
    expectLines(rendered(grid, width: 2, height: 2), ["█·", " █"])
    _ = rendered(grid, width: 0, height: 0)
    _ = rendered(HeatGrid(values: [[Double?]]()), width: 3, height: 3)
  }
}
