import Testing
@testable import TUI

@Suite struct GaugeTests {
  @Test func eighthBlockResolution() {
    expectLines(rendered(Gauge(ratio: 0.5, labelPlacement: .hidden), width: 10, height: 1), ["█████     "])
    expectLines(rendered(Gauge(ratio: 0.55, labelPlacement: .hidden), width: 10, height: 1), ["█████▌    "])
    expectLines(rendered(Gauge(ratio: 0.0125, labelPlacement: .hidden), width: 10, height: 1), ["▏         "])
    expectLines(rendered(Gauge(ratio: 1, labelPlacement: .hidden), width: 4, height: 2), ["████", "████"])
  }

  @Test func outOfRangeRatiosAreClamped() {
    expectLines(rendered(Gauge(ratio: 3, labelPlacement: .hidden), width: 3, height: 1), ["███"])
    expectLines(rendered(Gauge(ratio: -1, labelPlacement: .hidden), width: 3, height: 1), ["   "])
    expectLines(rendered(Gauge(ratio: .nan, labelPlacement: .hidden), width: 3, height: 1), ["   "])
    #expect(Gauge(ratio: .nan).labelText == "0%")
  }

  @Test func overlayLabelIsReversedWhereItCoversTheBar() {
    let gauge = Gauge(ratio: 0.5, barStyle: Style(fg: .indexed(2)))
    let buffer = rendered(gauge, width: 10, height: 1)
    expectLines(buffer, ["███50%    "])
    #expect(buffer.styleLines == ["0-2 fg=i2; 3-4 fg=i2 rev; 5-9 -"])
  }

  @Test func overlayLabelSitsOnTheMiddleRow() {
    expectLines(rendered(Gauge(ratio: 0, label: "x"), width: 3, height: 3), ["   ", " x ", "   "])
  }

  @Test func trailingLabelShrinksTheBar() {
    let buffer = rendered(Gauge(ratio: 0.71, label: "0.71", labelPlacement: .trailing), width: 12, height: 1)
    expectLines(buffer, ["█████   0.71"])
  }

  @Test func asciiBarUsesHalfSteps() {
    let gauge = Gauge(ratio: 0.55, labelPlacement: .hidden, glyphs: .ascii)
    expectLines(rendered(gauge, width: 10, height: 1), ["=====-    "])
  }

  @Test func labelWiderThanTheBarIsTruncated() {
    expectLines(rendered(Gauge(ratio: 1, label: "layer 11/12"), width: 6, height: 1), ["layer…"])
  }
}
