/// A cell position: column `x` and row `y`, 0-based from the top-left of the screen.
public struct Position: Hashable, Sendable {
  public var x: Int
  public var y: Int

  public init(x: Int, y: Int) {
    self.x = x
    self.y = y
  }
}

/// A width × height in terminal cells.
public struct Size: Hashable, Sendable, CustomStringConvertible {
  public var width: Int
  public var height: Int

  public init(width: Int, height: Int) {
    self.width = width
    self.height = height
  }

  public static let zero = Size(width: 0, height: 0)

  /// True when both dimensions are at least those of `other`.
  public func fits(_ other: Size) -> Bool { width >= other.width && height >= other.height }

  public var description: String { "\(width)x\(height)" }
}

/// A rectangle of terminal cells. `x`/`y` are the top-left corner (column, row, 0-based); `right` and `bottom` are
/// exclusive. Sizes are never negative: operations that would shrink past zero give an empty rectangle.
public struct Rect: Hashable, Sendable, CustomStringConvertible {
  public var x: Int
  public var y: Int
  public var width: Int
  public var height: Int

  public init(x: Int, y: Int, width: Int, height: Int) {
    self.x = x
    self.y = y
    self.width = max(width, 0)
    self.height = max(height, 0)
  }

  /// A rectangle at the origin.
  public init(size: Size) {
    self.init(x: 0, y: 0, width: size.width, height: size.height)
  }

  public var size: Size { Size(width: width, height: height) }
  public var origin: Position { Position(x: x, y: y) }
  public var right: Int { x + width }
  public var bottom: Int { y + height }
  public var area: Int { width * height }
  public var isEmpty: Bool { width == 0 || height == 0 }

  public var description: String { "Rect(x: \(x), y: \(y), \(width)x\(height))" }

  public func contains(x px: Int, y py: Int) -> Bool {
    px >= x && px < right && py >= y && py < bottom
  }

  /// The overlap of two rectangles (empty, positioned at the clamped corner, when they do not overlap).
  public func intersection(_ other: Rect) -> Rect {
    let left = max(x, other.x)
    let top = max(y, other.y)
    let rightEdge = min(right, other.right)
    let bottomEdge = min(bottom, other.bottom)
    return Rect(x: left, y: top, width: rightEdge - left, height: bottomEdge - top)
  }

  /// The rectangle shrunk by `margin` cells on every side.
  public func inset(by margin: Int) -> Rect {
    inset(top: margin, left: margin, bottom: margin, right: margin)
  }

  /// The rectangle shrunk by `horizontal` cells left and right and `vertical` cells top and bottom.
  public func inset(horizontal: Int = 0, vertical: Int = 0) -> Rect {
    inset(top: vertical, left: horizontal, bottom: vertical, right: horizontal)
  }

  /// The rectangle shrunk by the given margins; never negative.
  public func inset(top: Int = 0, left: Int = 0, bottom: Int = 0, right: Int = 0) -> Rect {
    let newWidth = max(width - left - right, 0)
    let newHeight = max(height - top - bottom, 0)
    return Rect(x: x + min(left, width), y: y + min(top, height), width: newWidth, height: newHeight)
  }

  /// A rectangle of (at most) the given size centred in this one; odd leftovers go to the right/bottom.
  public func centered(width w: Int, height h: Int) -> Rect {
    let clampedWidth = min(max(w, 0), width)
    let clampedHeight = min(max(h, 0), height)
    return Rect(
      x: x + (width - clampedWidth) / 2, y: y + (height - clampedHeight) / 2,
      width: clampedWidth, height: clampedHeight)
  }

  /// The row at offset `index` from the top (empty if outside).
  public func row(_ index: Int) -> Rect {
    guard index >= 0, index < height else { return Rect(x: x, y: y + max(min(index, height), 0), width: width, height: 0) }
    return Rect(x: x, y: y + index, width: width, height: 1)
  }

  /// Splits the rectangle top to bottom into bands sized by `constraints`, with `spacing` empty rows between them.
  public func rows(_ constraints: [Constraint], spacing: Int = 0) -> [Rect] {
    let lengths = Constraint.resolve(constraints, total: height, spacing: spacing)
    var offset = y
    return lengths.map { length in
      defer { offset += length + spacing }
      return Rect(x: x, y: min(offset, bottom), width: width, height: length)
    }
  }

  /// Splits the rectangle left to right into bands sized by `constraints`, with `spacing` empty columns between them.
  public func columns(_ constraints: [Constraint], spacing: Int = 0) -> [Rect] {
    let lengths = Constraint.resolve(constraints, total: width, spacing: spacing)
    var offset = x
    return lengths.map { length in
      defer { offset += length + spacing }
      return Rect(x: min(offset, right), y: y, width: length, height: height)
    }
  }
}

/// How long one band of a split should be.
public enum Constraint: Hashable, Sendable {
  /// Exactly this many cells (less if the space runs out).
  case fixed(Int)
  /// This percentage of the space available after spacing, rounded down.
  case percent(Int)
  /// A share of whatever the fixed and percentage bands leave, proportional to the weight.
  case fill(Int)
  /// Like `fill(1)`, but never shorter than this many cells while space remains.
  case min(Int)

  /// The band lengths for `constraints` within `total` cells. Fixed and percentage bands are served first, in order,
  /// each clamped to what is left; the remainder is shared among `fill` and `min` bands by weight (a `min`
  /// band counts as weight 1 but is pinned at its minimum when its share would be smaller), with rounding leftovers
  /// going to the earliest bands. The result always sums to at most `total`.
  public static func resolve(_ constraints: [Constraint], total: Int, spacing: Int = 0) -> [Int] {
    guard !constraints.isEmpty else { return [] }
    let available = Swift.max(total - Swift.max(spacing, 0) * (constraints.count - 1), 0)
    var lengths = Array(repeating: 0, count: constraints.count)
    var remaining = available
    for (index, constraint) in constraints.enumerated() {
      let wanted: Int
      switch constraint {
      case let .fixed(cells): wanted = cells
      case let .percent(percent): wanted = available * Swift.min(Swift.max(percent, 0), 100) / 100
      case .fill, .min: continue
      }
      lengths[index] = Swift.min(Swift.max(wanted, 0), remaining)
      remaining -= lengths[index]
    }
    // Fill and min bands share the rest by weight. A min band whose share would fall short is pinned at its
    // minimum (clamped to what is left) and the others share again, until every share stands.
    var weights: [Int] = constraints.map {
      switch $0 {
      case let .fill(weight): return Swift.max(weight, 0)
      case .min: return 1
      default: return 0
      }
    }
    while true {
      let shares = share(remaining, by: weights)
      var pinnedAny = false
      for (index, constraint) in constraints.enumerated() where weights[index] > 0 {
        if case let .min(cells) = constraint, shares[index] < cells {
          lengths[index] = Swift.min(cells, remaining)
          remaining -= lengths[index]
          weights[index] = 0
          pinnedAny = true
          break
        }
      }
      if !pinnedAny {
        for index in lengths.indices where weights[index] > 0 { lengths[index] = shares[index] }
        break
      }
    }
    return lengths
  }
}

/// `total` split proportionally to `weights`, rounding leftovers going to the earliest weighted entries.
private func share(_ total: Int, by weights: [Int]) -> [Int] {
  let totalWeight = weights.reduce(0, +)
  guard totalWeight > 0, total > 0 else { return Array(repeating: 0, count: weights.count) }
  var shares = weights.map { total * $0 / totalWeight }
  var leftover = total - shares.reduce(0, +)
  for index in shares.indices where leftover > 0 && weights[index] > 0 {
    shares[index] += 1
    leftover -= 1
  }
  return shares
}
