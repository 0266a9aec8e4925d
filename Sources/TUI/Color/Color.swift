import Pixels

/// A colour as widgets ask for it. The backend quantizes it to what the terminal can show (see `quantize(_:to:)`).
public enum Color: Hashable, Sendable {
  /// The terminal's own default foreground or background (whatever the user's theme uses).
  case `default`
  /// A 24-bit colour.
  case rgb(UInt8, UInt8, UInt8)
  /// An entry of the terminal's 256-colour palette (0–15 are the user-configurable ANSI colours).
  case indexed(UInt8)

  /// Builds an RGB colour from a `0xRRGGBB` literal, e.g. `Color(hex: 0x440154)`.
  public init(hex: UInt32) {
    self = .rgb(UInt8((hex >> 16) & 0xFF), UInt8((hex >> 8) & 0xFF), UInt8(hex & 0xFF))
  }

  /// The colour as RGB, resolving palette indices with xterm's default palette; nil for `.default`.
  public var rgbValue: RGB? {
    switch self {
    case .default: return nil
    case let .rgb(r, g, b): return RGB(r, g, b)
    case let .indexed(index): return XtermPalette.rgb(ofIndex: index)
    }
  }
}

extension RGB {
  /// The colour as a `Color` for use in a `Style`.
  public var color: Color { .rgb(r, g, b) }
}

/// xterm's default 256-colour palette, the reference for mapping RGB to indices and back.
public enum XtermPalette {
  /// The channel levels of the 6×6×6 cube at indices 16...231.
  public static let cubeLevels: [UInt8] = [0, 95, 135, 175, 215, 255]

  /// xterm's defaults for the 16 ANSI colours. Terminals disagree here (users theme them), which is why RGB is only
  /// ever quantized into 16...255 in 256-colour mode.
  public static let ansi16: [RGB] = [
    RGB(0, 0, 0), RGB(205, 0, 0), RGB(0, 205, 0), RGB(205, 205, 0),
    RGB(0, 0, 238), RGB(205, 0, 205), RGB(0, 205, 205), RGB(229, 229, 229),
    RGB(127, 127, 127), RGB(255, 0, 0), RGB(0, 255, 0), RGB(255, 255, 0),
    RGB(92, 92, 255), RGB(255, 0, 255), RGB(0, 255, 255), RGB(255, 255, 255),
  ]

  /// The RGB value xterm shows for a palette index.
  public static func rgb(ofIndex index: UInt8) -> RGB {
    switch index {
    case 0..<16:
      return ansi16[Int(index)]
    case 16..<232:
      let cube = Int(index) - 16
      return RGB(cubeLevels[cube / 36], cubeLevels[(cube / 6) % 6], cubeLevels[cube % 6])
    default:
      let level = UInt8(8 + 10 * (Int(index) - 232))
      return RGB(level, level, level)
    }
  }

  /// Indices 16...255 with their RGB values, computed once: the search space of 256-colour quantization.
  static let extendedEntries: [(index: UInt8, rgb: RGB)] = (16...255).map { (UInt8($0), rgb(ofIndex: UInt8($0))) }
}
