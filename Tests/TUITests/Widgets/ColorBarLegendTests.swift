import Testing
@testable import TUI

@Suite struct ColorBarTests {
  let scale: @Sendable (Double) -> Color = { .indexed(UInt8(($0 * 9).rounded())) }

  @Test func twoRowsGradientThenLabels() {
    let bar = ColorBar(range: 0...2.5, colorScale: scale, caption: "H")
    let buffer = rendered(bar, width: 10, height: 2)
    expectLines(buffer, ["          ", "0   H  2.5"])
    #expect(buffer.styleLines[0] == (0..<10).map { "\($0) bg=i\($0)" }.joined(separator: "; "))
  }

  @Test func captionIsDroppedWhenItDoesNotFit() {
    let bar = ColorBar(range: 0...1, colorScale: scale, minLabel: "low", maxLabel: "high", caption: "entropy")
    expectLines(rendered(bar, width: 12, height: 2), ["            ", "low     high"])
  }

  @Test func singleRowPutsLabelsBesideTheGradient() {
    let bar = ColorBar(range: 0...2.5, appearance: .unicodeMonochrome)
    expectLines(rendered(bar, width: 12, height: 1), ["0  ░▒▒▓█ 2.5"])
    let asciiBar = ColorBar(range: 0...2.5, appearance: .asciiMonochrome)
    expectLines(rendered(asciiBar, width: 12, height: 1), ["0  .::+# 2.5"])
  }

  @Test func narrowSingleRowDropsLabels() {
    let bar = ColorBar(range: 0...100, appearance: .unicodeMonochrome)
    expectLines(rendered(bar, width: 5, height: 1), [" ░▒▓█"])
  }
}

@Suite struct LegendTests {
  let entries = [
    LegendEntry(glyph: "●", style: Style(fg: .indexed(1)), label: "ToMe"),
    LegendEntry(glyph: "×", style: Style(fg: .indexed(2)), label: "EViT"),
    LegendEntry(glyph: "◆", style: Style(fg: .indexed(3)), label: "baseline"),
  ]

  @Test func horizontalFlowWrapsWholeEntries() {
    expectLines(rendered(Legend(entries: entries), width: 27, height: 1), ["● ToMe  × EViT  ◆ baseline "])
    expectLines(rendered(Legend(entries: entries), width: 16, height: 2), ["● ToMe  × EViT  ", "◆ baseline      "])
  }

  @Test func verticalListAndTruncation() {
    expectLines(rendered(Legend(entries: entries, direction: .vertical), width: 8, height: 3), ["● ToMe  ", "× EViT  ", "◆ basel…"])
  }

  @Test func glyphsKeepTheirColours() {
    let buffer = rendered(Legend(entries: entries), width: 27, height: 1)
    #expect(buffer[0, 0].style.fg == .indexed(1))
    #expect(buffer[2, 0].style == .plain)
    #expect(buffer[8, 0].style.fg == .indexed(2))
  }

  @Test func seriesLegendUsesTheChartsMarkers() {
    let legend = Legend(series: [ChartSeries(name: "a", values: [1.0]), ChartSeries(name: "b", values: [1.0], marker: "#")])
    expectLines(rendered(legend, width: 8, height: 1), ["● a  # b"])
  }
}
