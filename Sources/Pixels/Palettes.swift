#if canImport(Glibc)
import Glibc
#elseif canImport(Musl)
import Musl
#elseif canImport(Darwin)
import Darwin
#endif

/// A sequential palette: maps a value in 0...1 to a colour, dark/low to bright/high. All are pure functions.
///
/// The stops are the 10-colour samples of matplotlib's perceptually uniform maps (as R's `viridis(10)` prints them),
/// interpolated linearly in between. Viridis and cividis stay readable for the common colour-vision deficiencies;
/// cividis was optimised for it.
public enum SequentialPalette: String, CaseIterable, Sendable {
  case viridis
  case cividis
  case magma
  case inferno
  /// A plain black-to-white ramp, for users who want luminance only.
  case greys

  /// The colour at `t` (clamped to 0...1; NaN maps to 0).
  public func rgb(at t: Double) -> RGB {
    let stops = self.stops
    let clamped = t.isNaN ? 0 : min(max(t, 0), 1)
    let position = clamped * Double(stops.count - 1)
    let lower = min(Int(position), stops.count - 2)
    return stops[lower].mixed(with: stops[lower + 1], by: position - Double(lower))
  }

  var stops: [RGB] {
    switch self {
    case .viridis:
      return [0x440154, 0x482878, 0x3E4A89, 0x31688E, 0x26828E, 0x1F9E89, 0x35B779, 0x6DCD59, 0xB4DE2C, 0xFDE725]
        .map(RGB.init(hex:))
    case .cividis:
      return [0x00204D, 0x00336F, 0x39486B, 0x575C6D, 0x707173, 0x8A8779, 0xA69D75, 0xC4B56C, 0xE4CF5B, 0xFFEA46]
        .map(RGB.init(hex:))
    case .magma:
      return [0x000004, 0x180F3E, 0x451077, 0x721F81, 0x9F2F7F, 0xCD4071, 0xF1605D, 0xFD9567, 0xFEC98D, 0xFCFDBF]
        .map(RGB.init(hex:))
    case .inferno:
      return [0x000004, 0x1B0C42, 0x4B0C6B, 0x781C6D, 0xA52C60, 0xCF4446, 0xED6925, 0xFB9A06, 0xF7D03C, 0xFCFFA4]
        .map(RGB.init(hex:))
    case .greys:
      return [RGB(0, 0, 0), RGB(255, 255, 255)]
    }
  }
}

/// `value` rescaled to 0...1 within `range`, clamped. A zero-width range maps to 0.5 so a constant map shows the
/// middle colour rather than the darkest one.
public func normalized(_ value: Double, in range: ClosedRange<Double>) -> Double {
  let width = range.upperBound - range.lowerBound
  guard width > 0, width.isFinite else { return 0.5 }
  return min(max((value - range.lowerBound) / width, 0), 1)
}

/// A categorical palette: a stable, distinct colour per integer (e.g. a merge group or a method).
///
/// The first seven are the Okabe–Ito colours (colour-blind safe, black omitted because it vanishes on dark
/// terminals). Later indices walk the OKLCH hue circle by the golden angle at alternating lightness, so any number of
/// groups get colours that stay apart and never change between runs.
public enum CategoricalPalette {
  /// Okabe & Ito (2008), "Color Universal Design": orange, sky blue, bluish green, yellow, blue, vermillion,
  /// reddish purple.
  public static let okabeIto: [RGB] = [0xE69F00, 0x56B4E9, 0x009E73, 0xF0E442, 0x0072B2, 0xD55E00, 0xCC79A7]
    .map(RGB.init(hex:))

  /// The colour for category `index` (negative indices wrap to their absolute value).
  public static func rgb(for index: Int) -> RGB {
    let index = index.magnitude
    if index < UInt(okabeIto.count) { return okabeIto[Int(index)] }
    let step = Double(index - UInt(okabeIto.count))
    let goldenAngle = 137.507_764_050_037_85
    let hue = (step * goldenAngle + 20).truncatingRemainder(dividingBy: 360)
    let lightness = [0.72, 0.58, 0.82][Int(step) % 3]
    return oklchToRGB(lightness: lightness, chroma: 0.13, hueDegrees: hue)
  }
}

/// OKLCH → sRGB (Björn Ottosson's Oklab, 2020), clipping out-of-gamut channels. Used to spread categorical hues
/// evenly in perceived lightness.
func oklchToRGB(lightness: Double, chroma: Double, hueDegrees: Double) -> RGB {
  let hue = hueDegrees * Double.pi / 180
  let a = chroma * cos(hue)
  let b = chroma * sin(hue)
  let l = cube(lightness + 0.396_337_777_4 * a + 0.215_803_757_3 * b)
  let m = cube(lightness - 0.105_561_345_8 * a - 0.063_854_172_8 * b)
  let s = cube(lightness - 0.089_484_177_5 * a - 1.291_485_548_0 * b)
  let red = 4.076_741_662_1 * l - 3.307_711_591_3 * m + 0.230_969_929_2 * s
  let green = -1.268_438_004_6 * l + 2.609_757_401_1 * m - 0.341_319_396_5 * s
  let blue = -0.004_196_086_3 * l - 0.703_418_614_7 * m + 1.707_614_701_0 * s
  return RGB(encodeSRGB(red), encodeSRGB(green), encodeSRGB(blue))
}

private func cube(_ x: Double) -> Double { x * x * x }

/// Linear light → gamma-encoded 8-bit sRGB.
private func encodeSRGB(_ linear: Double) -> UInt8 {
  let x = min(max(linear, 0), 1)
  let encoded = x <= 0.003_130_8 ? 12.92 * x : 1.055 * pow(x, 1 / 2.4) - 0.055
  return UInt8((encoded * 255).rounded())
}
