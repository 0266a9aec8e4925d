import Pixels

extension SequentialPalette {
  /// The colour at `t` as a `Color`.
  public func color(at t: Double) -> Color { rgb(at: t).color }

  /// The colour for `value` on the scale `range` (a degenerate range maps everything to the middle).
  public func color(for value: Double, in range: ClosedRange<Double>) -> Color {
    color(at: normalized(value, in: range))
  }
}

extension CategoricalPalette {
  /// The colour for category `index` as a `Color`.
  public static func color(for index: Int) -> Color { rgb(for: index).color }
}
