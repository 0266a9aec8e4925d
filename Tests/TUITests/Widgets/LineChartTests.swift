import NumberFormatting
import Testing
@testable import TUI

@Suite struct LineChartTests {
  @Test func axesLabelsMarkersAndConnectingDots() {
    let chart = LineChart(series: [ChartSeries(name: "ToMe", values: [0, 5, 10])], xLabels: ["0", "2"])
    expectLines(rendered(chart, width: 10, height: 5), [
      "10│     ·●",
      "  │  ·●·  ",
      " 0│●·     ",
      "  └───────",
      "   0     2",
    ])
  }

  @Test func seriesGetDistinctMarkersAndLaterSeriesDrawOnTop() {
    let chart = LineChart(
      series: [
        ChartSeries(name: "baseline", values: [4, 4, 4], style: Style(fg: .indexed(8))),
        ChartSeries(name: "ToMe", values: [4, 2, 0], style: Style(fg: .indexed(3))),
      ],
      connectsPoints: false)
    let buffer = rendered(chart, width: 8, height: 4)
    expectLines(buffer, [
      "4│×  ● ●",
      " │   ×  ",
      "0│     ×",
      " └──────",
    ])
    #expect(buffer[2, 0].style.fg == .indexed(3))
    #expect(buffer[5, 0].style.fg == .indexed(8))
  }

  @Test func gapsAreNotConnected() {
    let chart = LineChart(series: [ChartSeries(name: "s", values: [1, nil, 1, 1])], yRange: 0...1)
    expectLines(rendered(chart, width: 9, height: 2), ["1│●   ●·●", " └───────"])
  }

  @Test func yRangeResolution() {
    #expect(LineChart(series: [ChartSeries(name: "s", values: [3, 7])]).resolvedYRange == 0...7)
    #expect(LineChart(series: [ChartSeries(name: "s", values: [3, 7])], includesZero: false).resolvedYRange == 3...7)
    #expect(LineChart(series: [ChartSeries(name: "s", values: [-2, 5])]).resolvedYRange == -2...5)
    #expect(LineChart(series: [ChartSeries(name: "s", values: [0])]).resolvedYRange == -1...1)
    #expect(LineChart(series: []).resolvedYRange == 0...1)
    #expect(LineChart(series: [ChartSeries(name: "s", values: [.nan, 2])]).resolvedYRange == 0...2)
  }

  @Test func middleTickAppearsOnTallCharts() {
    let chart = LineChart(series: [ChartSeries(name: "s", values: [0, 197])], yLabel: { formatFixed($0, decimals: 0) })
    let buffer = rendered(chart, width: 10, height: 6)
    #expect(buffer.lines.map { String($0.prefix(4)) } == ["197│", "   │", " 99│", "   │", "  0│", "   └"])
  }

  @Test func asciiAxesAndMarkers() {
    let chart = LineChart(
      series: [ChartSeries(name: "a", values: [1, 1]), ChartSeries(name: "b", values: [0, 0])], glyphs: .ascii)
    expectLines(rendered(chart, width: 6, height: 3), ["1|o..o", "0|x..x", " +----"])
  }

  @Test func crowdedXLabelsAreSkippedRatherThanOverlapped() {
    let chart = LineChart(series: [ChartSeries(name: "s", values: [1, 2, 3])], xLabels: ["100", "200", "300"])
    let buffer = rendered(chart, width: 10, height: 4)
    #expect(buffer.lines[3] == "  100  300")  // "200" would touch "300"; the last label is kept
  }

  @Test func tinyAreasDoNotCrash() {
    let chart = LineChart(series: [ChartSeries(name: "s", values: [1, 2, 3])], xLabels: ["a"])
    for width in 0...4 {
      for height in 0...3 { _ = rendered(chart, width: width, height: height) }
    }
  }
}
