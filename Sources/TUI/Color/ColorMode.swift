import Pixels

/// How many colours the terminal can show, from richest to poorest.
public enum ColorMode: Int, Comparable, CaseIterable, Sendable, CustomStringConvertible {
  case monochrome = 0
  case palette8
  case palette16
  case palette256
  case truecolor

  public static func < (lhs: ColorMode, rhs: ColorMode) -> Bool { lhs.rawValue < rhs.rawValue }

  /// Whether any colour is drawn at all; widgets switch to glyph-based fallbacks when it is false.
  public var usesColor: Bool { self != .monochrome }

  public var description: String {
    switch self {
    case .monochrome: return "monochrome"
    case .palette8: return "8 colours"
    case .palette16: return "16 colours"
    case .palette256: return "256 colours"
    case .truecolor: return "truecolor"
    }
  }

  /// The richest mode a terminfo entry can address, from its `colors` capability (`COLORS` after `start_color`).
  /// Truecolor additionally needs `COLORTERM` (see `detect`), because only a direct-colour entry makes colour
  /// numbers RGB values.
  public static func supported(byColorCount colors: Int) -> ColorMode {
    if colors >= 1 << 24 { return .truecolor }
    if colors >= 256 { return .palette256 }
    if colors >= 16 { return .palette16 }
    if colors >= 8 { return .palette8 }
    return .monochrome
  }

  /// Picks the colour mode, explicit choices first, then what the terminal declares:
  /// 1. an explicit `override` (clamped to what the terminal can address, since ncurses cannot emit more);
  /// 2. `NO_COLOR` set and non-empty means monochrome, regardless of its value (no-color.org);
  /// 3. `hasColors == false` (terminfo has no colours) means monochrome;
  /// 4. `COLORTERM` = `truecolor`/`24bit` and a direct-colour entry (`colors >= 2^24`) means truecolor;
  /// 5. then 256, 16 or 8 colours by `colors`, else monochrome.
  ///
  /// Everything is passed in, so the logic is testable without a terminal.
  /// - Parameters:
  ///   - override: the user's explicit choice (a command-line flag), or nil to detect.
  ///   - environment: the process environment (`NO_COLOR`, `COLORTERM` are read).
  ///   - hasColors: ncurses' `has_colors()`.
  ///   - colorCount: ncurses' `COLORS` after `start_color()`.
  public static func detect(
    override: ColorMode? = nil, environment: [String: String], hasColors: Bool, colorCount: Int
  ) -> ColorMode {
    let capability: ColorMode
    if !hasColors {
      capability = .monochrome
    } else {
      let colorTerm = environment["COLORTERM"]?.lowercased() ?? ""
      let advertisesTruecolor = colorTerm == "truecolor" || colorTerm == "24bit"
      let addressable = supported(byColorCount: colorCount)
      capability = addressable == .truecolor && !advertisesTruecolor ? .palette256 : addressable
    }
    if let override {
      return min(override, capability)
    }
    if let noColor = environment["NO_COLOR"], !noColor.isEmpty {
      return .monochrome
    }
    return capability
  }
}

/// Maps a colour to the closest one `mode` can show. Pure, so tests can check every mapping.
///
/// - truecolor keeps RGB; palette indices pass through.
/// - 256 colours maps RGB to indices 16...255 only (the 6×6×6 cube and the grey ramp), because 0...15 are themed by
///   users and differ between terminals (chafa's advice). Indices pass through.
/// - 16 / 8 colours map to the nearest ANSI colour.
/// - monochrome drops every colour to `.default`.
/// Nearness uses `RGB.distanceSquared(to:)` (redmean).
public func quantize(_ color: Color, to mode: ColorMode) -> Color {
  switch (color, mode) {
  case (.default, _), (_, .truecolor):
    return color
  case (_, .monochrome):
    return .default
  case (.indexed, .palette256):
    return color
  case let (.indexed(index), .palette16) where index < 16:
    return color
  case let (.indexed(index), .palette8) where index < 8:
    return color
  case let (.indexed(index), .palette8) where index < 16:
    // Bright ANSI colours map to their normal counterparts rather than by RGB distance, which keeps hues.
    return .indexed(index - 8)
  case let (.rgb(r, g, b), .palette256):
    return .indexed(nearestExtendedIndex(to: RGB(r, g, b)))
  default:
    guard let rgb = color.rgbValue else { return .default }
    let candidates = mode == .palette16 ? 16 : 8
    return .indexed(nearestANSIIndex(to: rgb, among: candidates))
  }
}

/// The nearest entry of the 240-colour part of the xterm palette (16...255).
func nearestExtendedIndex(to rgb: RGB) -> UInt8 {
  var best = XtermPalette.extendedEntries[0]
  var bestDistance = Double.infinity
  for entry in XtermPalette.extendedEntries {
    let distance = rgb.distanceSquared(to: entry.rgb)
    if distance < bestDistance {
      bestDistance = distance
      best = entry
    }
  }
  return best.index
}

/// The nearest of the first `count` ANSI colours (8 or 16).
func nearestANSIIndex(to rgb: RGB, among count: Int) -> UInt8 {
  var bestIndex = 0
  var bestDistance = Double.infinity
  for index in 0..<count {
    let distance = rgb.distanceSquared(to: XtermPalette.ansi16[index])
    if distance < bestDistance {
      bestDistance = distance
      bestIndex = index
    }
  }
  return UInt8(bestIndex)
}
