import Testing
@testable import TUI

@Suite struct RectTests {
  @Test func fixedPercentAndFillShareTheSpace() {
    let area = Rect(x: 0, y: 0, width: 100, height: 10)
    let parts = area.columns([.fixed(20), .percent(30), .fill(1), .fill(1)])
    #expect(parts.map(\.width) == [20, 30, 25, 25])
    #expect(parts.map(\.x) == [0, 20, 50, 75])
    #expect(parts.allSatisfy { $0.height == 10 && $0.y == 0 })
  }

  @Test func fillWeightsAndRoundingLeftoversGoToTheEarliestBands() {
    #expect(Constraint.resolve([.fill(1), .fill(2)], total: 10) == [4, 6])
    #expect(Constraint.resolve([.fill(1), .fill(1), .fill(1)], total: 10) == [4, 3, 3])
  }

  @Test func spacingIsTakenBeforeSharing() {
    let parts = Rect(x: 2, y: 1, width: 21, height: 3).columns([.fill(1), .fill(1)], spacing: 1)
    #expect(parts == [Rect(x: 2, y: 1, width: 10, height: 3), Rect(x: 13, y: 1, width: 10, height: 3)])
  }

  @Test func bandsClampWhenSpaceRunsOut() {
    #expect(Constraint.resolve([.fixed(8), .fixed(8), .fill(1)], total: 10) == [8, 2, 0])
    #expect(Constraint.resolve([.percent(150), .fixed(3)], total: 10) == [10, 0])
    #expect(Constraint.resolve([.fixed(-3), .fill(1)], total: 4) == [0, 4])
    #expect(Constraint.resolve([], total: 10) == [])
    #expect(Constraint.resolve([.fill(1), .fill(1)], total: 0) == [0, 0])
  }

  @Test func minBandsGetTheirMinimumThenShare() {
    // A side panel of at least 30 next to a filling main view.
    #expect(Constraint.resolve([.fill(1), .min(30)], total: 100) == [50, 50])
    #expect(Constraint.resolve([.fill(1), .min(30)], total: 40) == [10, 30])
    #expect(Constraint.resolve([.fill(1), .min(30)], total: 20) == [0, 20])
  }

  @Test func rowsSplitVertically() {
    let rows = Rect(x: 0, y: 0, width: 80, height: 24).rows([.fixed(1), .fill(1), .fixed(1)])
    #expect(rows.map(\.y) == [0, 1, 23])
    #expect(rows.map(\.height) == [1, 22, 1])
  }

  @Test func insetNeverGoesNegative() {
    let area = Rect(x: 5, y: 5, width: 4, height: 3)
    #expect(area.inset(by: 1) == Rect(x: 6, y: 6, width: 2, height: 1))
    #expect(area.inset(by: 5).isEmpty)
    #expect(area.inset(horizontal: 1) == Rect(x: 6, y: 5, width: 2, height: 3))
    #expect(Rect(x: 0, y: 0, width: -3, height: 2).width == 0)
  }

  @Test func centeredClampsToTheArea() {
    let screen = Rect(x: 0, y: 0, width: 80, height: 24)
    #expect(screen.centered(width: 20, height: 10) == Rect(x: 30, y: 7, width: 20, height: 10))
    #expect(screen.centered(width: 200, height: 100) == screen)
  }

  @Test func intersectionAndContainment() {
    let a = Rect(x: 0, y: 0, width: 10, height: 10)
    let b = Rect(x: 5, y: 8, width: 10, height: 10)
    #expect(a.intersection(b) == Rect(x: 5, y: 8, width: 5, height: 2))
    #expect(a.intersection(Rect(x: 20, y: 20, width: 2, height: 2)).isEmpty)
    #expect(a.contains(x: 9, y: 9))
    #expect(!a.contains(x: 10, y: 0))
    #expect(a.row(3) == Rect(x: 0, y: 3, width: 10, height: 1))
    #expect(a.row(12).isEmpty)
  }
}
