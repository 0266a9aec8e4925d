import Testing
@testable import TUI

@Suite struct SparklineTests {
  @Test func oneLevelPerEighth() {
    let buffer = rendered(Sparkline(values: (0...8).map(Double.init)), width: 9, height: 1)
    expectLines(buffer, [" ▁▂▃▄▅▆▇█"])
  }

  @Test func barsSpanSeveralRows() {
    expectLines(rendered(Sparkline(values: [0, 8, 16, 12]), width: 4, height: 2), ["  █▄", " ███"])
  }

  @Test func showsTheMostRecentValuesAndHonoursMaximum() {
    expectLines(rendered(Sparkline(values: [8, 8, 0, 4], maximum: 8), width: 2, height: 1), [" ▄"])
    expectLines(rendered(Sparkline(values: [100], maximum: 8), width: 1, height: 1), ["█"])
  }

  @Test func emptyZeroAndNonFiniteValuesDrawNothing() {
    expectLines(rendered(Sparkline(values: []), width: 2, height: 1), ["  "])
    expectLines(rendered(Sparkline(values: [0, 0]), width: 2, height: 1), ["  "])
    expectLines(rendered(Sparkline(values: [.nan, 8]), width: 2, height: 1), [" █"])
  }

  @Test func asciiLevels() {
    expectLines(rendered(Sparkline(values: [1, 2, 4, 8], glyphs: .ascii), width: 4, height: 1), ["__-#"])
  }
}
