import Testing
@testable import TUICurses

/// The colour-pair bookkeeping behind `CursesBackend`, with a fake terminal pool in place of ncurses.
@Suite struct ColorPairPoolTests {
  /// Stands in for ncurses: hands out pair numbers and remembers each pair's colours.
  final class FakeTerminal {
    var colors: [Int32: ColorPairKey] = [:]
    var allocations = 0
    var redefinitions = 0

    func allocate(_ key: ColorPairKey) -> Int32? {
      allocations += 1
      let pair = Int32(colors.count + 1)
      colors[pair] = key
      return pair
    }

    func redefine(_ pair: Int32, _ key: ColorPairKey) -> Bool {
      redefinitions += 1
      colors[pair] = key
      return true
    }
  }

  func key(_ foreground: Int32, _ background: Int32) -> ColorPairKey {
    ColorPairKey(foreground: foreground, background: background)
  }

  func pair(_ pool: inout ColorPairPool, _ terminal: FakeTerminal, _ key: ColorPairKey, blank: Bool = false) -> (pair: Int32, isExact: Bool) {
    pool.pair(for: key, showsOnlyBackground: blank, allocate: terminal.allocate, redefine: terminal.redefine)
  }

  @Test func defaultColoursUsePairZeroAndPairsAreCached() {
    var pool = ColorPairPool(capacity: 10)
    let terminal = FakeTerminal()
    #expect(pair(&pool, terminal, key(-1, -1)) == (0, true))
    let first = pair(&pool, terminal, key(1, 2))
    #expect(first == (1, true))
    #expect(pair(&pool, terminal, key(1, 2)) == (1, true))
    #expect(terminal.allocations == 1)
  }

  @Test func handsOutMoreThan255Pairs() {
    var pool = ColorPairPool(capacity: 65_535)
    let terminal = FakeTerminal()
    pool.screenWasErased(width: 24, height: 12)
    var seen = Set<Int32>()
    for index in 0..<288 {
      let result = pair(&pool, terminal, key(Int32(16 + index % 240), Int32(16 + index / 240)))
      #expect(result.isExact)
      seen.insert(result.pair)
      pool.record(result.pair, x: index % 24, y: index / 24)
    }
    #expect(seen.count == 288)
    #expect(seen.max()! > 255)
  }

  @Test func aFullPoolRedefinesOnlyPairsThatAreOffScreen() {
    var pool = ColorPairPool(capacity: 2)
    let terminal = FakeTerminal()
    pool.screenWasErased(width: 3, height: 1)
    let a = pair(&pool, terminal, key(1, 1)).pair
    pool.record(a, x: 0, y: 0)
    let b = pair(&pool, terminal, key(2, 2)).pair
    pool.record(b, x: 1, y: 0)
    // Both pairs are on screen: a third colour combination gets a stand-in, flagged as inexact.
    let c = pair(&pool, terminal, key(3, 3))
    #expect(c == (0, false))
    #expect(terminal.redefinitions == 0)
    // Once cell 1 shows something else, pair b is idle and is redefined for the new colours.
    pool.record(0, x: 1, y: 0)
    let d = pair(&pool, terminal, key(3, 3))
    #expect(d == (b, true))
    #expect(terminal.colors[b] == key(3, 3))
    #expect(terminal.colors[a] == key(1, 1))  // the visible pair was left alone
    #expect(pool.pairByKey[key(2, 2)] == nil)
  }

  @Test func standInsPreferTheSameBackground() {
    var pool = ColorPairPool(capacity: 2)
    let terminal = FakeTerminal()
    pool.screenWasErased(width: 2, height: 1)
    let a = pair(&pool, terminal, key(1, 5)).pair
    pool.record(a, x: 0, y: 0)
    let b = pair(&pool, terminal, key(6, 2)).pair
    pool.record(b, x: 1, y: 0)
    #expect(pair(&pool, terminal, key(7, 5), blank: true) == (a, true))  // a blank cell looks identical
    #expect(pair(&pool, terminal, key(7, 5)) == (a, false))
    #expect(pair(&pool, terminal, key(6, 3)) == (b, false))
  }

  @Test func erasingTheScreenMakesEveryPairIdle() {
    var pool = ColorPairPool(capacity: 1)
    let terminal = FakeTerminal()
    pool.screenWasErased(width: 1, height: 1)
    let a = pair(&pool, terminal, key(1, 1)).pair
    pool.record(a, x: 0, y: 0)
    #expect(pool.idle.isEmpty)
    pool.screenWasErased(width: 4, height: 4)
    #expect(pool.idle == [a])
    #expect(pool.tracksScreen(width: 4, height: 4))
    #expect(!pool.tracksScreen(width: 1, height: 1))
    #expect(pair(&pool, terminal, key(2, 2)) == (a, true))
  }

  @Test func usageCountsFollowOverwrites() {
    var pool = ColorPairPool(capacity: 5)
    let terminal = FakeTerminal()
    pool.screenWasErased(width: 3, height: 1)
    let a = pair(&pool, terminal, key(1, 1)).pair
    pool.record(a, x: 0, y: 0)
    pool.record(a, x: 1, y: 0)
    #expect(pool.usage[a] == 2)
    pool.record(a, x: 1, y: 0)  // same pair again: no change
    #expect(pool.usage[a] == 2)
    pool.record(0, x: 0, y: 0)
    #expect(pool.usage[a] == 1 && !pool.idle.contains(a))
    pool.record(0, x: 1, y: 0)
    #expect(pool.usage[a] == nil && pool.idle.contains(a))
    pool.record(a, x: 9, y: 9)  // off screen: ignored
    #expect(pool.usage[a] == nil)
  }

  @Test func failedAllocationFallsBack() {
    var pool = ColorPairPool(capacity: 10)
    let result = pool.pair(for: key(1, 1), showsOnlyBackground: false, allocate: { _ in nil }, redefine: { _, _ in true })
    #expect(result == (0, false))
    #expect(pool.pairByKey.isEmpty)
  }
}
