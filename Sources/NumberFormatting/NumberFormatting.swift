// Number formatting without Foundation, written once so that the CLI's reports, the terminal UI and the figures print
// a number the same way.

/// `value` with exactly `decimals` digits after the point, rounded half away from zero: `formatFixed(0.705, 2)`
/// is "0.71". With `trimmingZeros`, trailing zeros and a bare point go ("0.70" → "0.7", "1.00" → "1"), for values
/// typed back as method parameters. Non-finite values print as "nan", "inf", "-inf".
public func formatFixed(_ value: Double, decimals: Int, trimmingZeros: Bool = false) -> String {
  let text = fixedPoint(value, decimals: decimals)
  return trimmingZeros ? trimmedZeros(text) : text
}

private func fixedPoint(_ value: Double, decimals: Int) -> String {
  guard value.isFinite else { return value.isNaN ? "nan" : (value < 0 ? "-inf" : "inf") }
  let decimals = min(max(decimals, 0), 9)
  var scale = 1.0
  for _ in 0..<decimals { scale *= 10 }
  let scaled = (abs(value) * scale).rounded(.toNearestOrAwayFromZero)
  guard scaled < 9.2e18 else { return String(value) }
  let units = Int64(scaled)
  let divisor = Int64(scale)
  let whole = units / divisor
  let fraction = units % divisor
  let sign = value < 0 && units != 0 ? "-" : ""
  guard decimals > 0 else { return sign + String(whole) }
  var fractionDigits = String(fraction)
  while fractionDigits.count < decimals { fractionDigits = "0" + fractionDigits }
  return sign + String(whole) + "." + fractionDigits
}

/// A short label for axis ticks and colour bars: at most 3 significant decimals for small values and a k/M/G
/// suffix for large ones, e.g. 0.5 → "0.5", 197 → "197", 4_608_338_304 → "4.6G".
public func formatCompact(_ value: Double) -> String {
  guard value.isFinite else { return formatFixed(value, decimals: 0) }
  let magnitude = abs(value)
  // Four-digit values (an MLP width of 1536) stay exact; "k" starts at 10 000.
  let suffixes: [(threshold: Double, scale: Double, suffix: String)] = [
    (1e12, 1e12, "T"), (1e9, 1e9, "G"), (1e6, 1e6, "M"), (1e4, 1e3, "k"),
  ]
  for (threshold, scale, suffix) in suffixes where magnitude >= threshold {
    return formatFixed(value / scale, decimals: magnitude / scale >= 100 ? 0 : 1, trimmingZeros: true) + suffix
  }
  let decimals = magnitude >= 100 ? 0 : magnitude >= 10 ? 1 : magnitude >= 1 ? 2 : 3
  return formatFixed(value, decimals: decimals, trimmingZeros: true)
}

/// "0.500" → "0.5", "2.00" → "2"; integers are untouched.
private func trimmedZeros(_ text: String) -> String {
  guard text.contains(".") else { return text }
  var trimmed = Substring(text)
  while trimmed.hasSuffix("0") { trimmed = trimmed.dropLast() }
  if trimmed.hasSuffix(".") { trimmed = trimmed.dropLast() }
  return trimmed == "-0" ? "0" : String(trimmed)
}
