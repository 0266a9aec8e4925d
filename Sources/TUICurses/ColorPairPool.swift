/// A (foreground, background) pair of terminal colour numbers (-1 = the terminal's default colour).
struct ColorPairKey: Hashable, Sendable {
  var foreground: Int32
  var background: Int32
}

/// Bookkeeping for terminal colour pairs: which pair shows which colours, and which pairs are on screen.
///
/// Pure Swift so it can be tested; `CursesBackend` supplies the two ncurses calls (`alloc_pair`,
/// `init_extended_pair`) as closures. The rules:
/// - while the pool has room, new colour combinations get a fresh pair from `allocate`;
/// - once it is full, a pair that no screen cell shows is *redefined*, never one still visible (ncurses' own
///   `alloc_pair` recycling would pick the least recently allocated pair, visible or not);
/// - if every pair is visible, the closest pair in use stands in (same background first: it fills the cell), and
///   the caller is told so it can retry on the next frame.
struct ColorPairPool {
  /// Usable pairs (COLOR_PAIRS - 1; pair 0 is the terminal default and never changes).
  let capacity: Int
  private(set) var pairByKey: [ColorPairKey: Int32] = [:]
  private(set) var keyByPair: [Int32: ColorPairKey] = [:]
  /// Screen cells currently showing each pair.
  private(set) var usage: [Int32: Int] = [:]
  /// Allocated pairs that no screen cell shows: free to redefine.
  private(set) var idle: Set<Int32> = []
  /// The pair each screen cell shows, row-major.
  private var screen: [Int32] = []
  private var screenWidth = 0

  init(capacity: Int) {
    self.capacity = max(capacity, 0)
  }

  /// Forgets what is on screen (after the screen was erased, e.g. a resize): every pair becomes idle.
  mutating func screenWasErased(width: Int, height: Int) {
    screenWidth = max(width, 0)
    screen = Array(repeating: 0, count: screenWidth * max(height, 0))
    idle.formUnion(usage.keys)
    usage.removeAll()
  }

  /// Whether the screen model matches a screen of this size.
  func tracksScreen(width: Int, height: Int) -> Bool {
    screenWidth == width && screen.count == width * height
  }

  /// The pair for `key`.
  /// - Parameters:
  ///   - showsOnlyBackground: the cell is blank, so any pair with the right background looks identical.
  ///   - allocate: gets a new pair for the colours (ncurses `alloc_pair`); nil or ≤ 0 on failure.
  ///   - redefine: sets an existing pair's colours (ncurses `init_extended_pair`); false on failure.
  /// - Returns: the pair and whether it shows exactly the requested colours.
  mutating func pair(
    for key: ColorPairKey, showsOnlyBackground: Bool,
    allocate: (ColorPairKey) -> Int32?, redefine: (Int32, ColorPairKey) -> Bool
  ) -> (pair: Int32, isExact: Bool) {
    if key.foreground == -1 && key.background == -1 { return (0, true) }
    if let cached = pairByKey[key] { return (cached, true) }
    let pair: Int32
    if pairByKey.count < capacity {
      guard let allocated = allocate(key), allocated > 0 else {
        return closestPair(to: key, showsOnlyBackground: showsOnlyBackground)
      }
      pair = allocated
    } else {
      guard let reusable = idle.first, let oldKey = keyByPair[reusable], redefine(reusable, key) else {
        return closestPair(to: key, showsOnlyBackground: showsOnlyBackground)
      }
      idle.remove(reusable)
      pairByKey[oldKey] = nil
      pair = reusable
    }
    pairByKey[key] = pair
    keyByPair[pair] = key
    idle.insert(pair)  // until a cell shows it
    return (pair, true)
  }

  /// Notes that screen cell (x, y) now shows `pair`.
  mutating func record(_ pair: Int32, x: Int, y: Int) {
    guard x >= 0, x < screenWidth, y >= 0 else { return }
    let index = y * screenWidth + x
    guard index < screen.count else { return }
    let old = screen[index]
    guard old != pair else { return }
    if old != 0, let count = usage[old] {
      if count <= 1 {
        usage[old] = nil
        idle.insert(old)
      } else {
        usage[old] = count - 1
      }
    }
    if pair != 0 {
      usage[pair, default: 0] += 1
      idle.remove(pair)
    }
    screen[index] = pair
  }

  /// The best stand-in when no pair can be had.
  private func closestPair(to key: ColorPairKey, showsOnlyBackground: Bool) -> (pair: Int32, isExact: Bool) {
    if let sameBackground = keyByPair.first(where: { $0.value.background == key.background })?.key {
      return (sameBackground, showsOnlyBackground)
    }
    if let sameForeground = keyByPair.first(where: { $0.value.foreground == key.foreground })?.key {
      return (sameForeground, false)
    }
    return (0, false)
  }
}
