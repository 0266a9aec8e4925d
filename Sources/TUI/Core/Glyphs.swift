/// The characters widgets draw with, in a Unicode and an ASCII variant (htop's `CRT_treeStrUtf8`/ASCII tables).
///
/// Chosen once at start-up from the locale (`Glyphs.detect(codeset:forceASCII:)`) and then passed to widgets, so
/// a `LANG=C` session over an old SSH client still gets a readable screen.
public struct Glyphs: Hashable, Sendable {
  /// Box-drawing characters for one border style.
  public struct Box: Hashable, Sendable {
    public var horizontal: String
    public var vertical: String
    public var topLeft: String
    public var topRight: String
    public var bottomLeft: String
    public var bottomRight: String
    /// ├ ┤ ┬ ┴ ┼: for separators that meet a border.
    public var teeRight: String
    public var teeLeft: String
    public var teeDown: String
    public var teeUp: String
    public var cross: String
  }

  /// True for the ASCII table.
  public var isASCII: Bool
  /// Square-cornered single lines.
  public var box: Box
  /// Rounded corners (falls back to `box` in ASCII).
  public var roundedBox: Box
  /// Double lines (falls back to `box` in ASCII).
  public var doubleBox: Box
  /// Heavy lines (falls back to `box` in ASCII).
  public var thickBox: Box
  /// ▀: upper half block, the half-block image primitive (fg = upper pixel, bg = lower pixel).
  public var upperHalf: String
  /// ▄: lower half block.
  public var lowerHalf: String
  /// █: full block.
  public var fullBlock: String
  /// Horizontal bar fill by eighths, index 0 (empty) ... 8 (full): " ▏▎▍▌▋▊▉█".
  public var barEighths: [String]
  /// Vertical levels for sparklines and bar charts, index 0 (empty) ... 8 (full): " ▁▂▃▄▅▆▇█".
  public var sparkLevels: [String]
  /// Density ramp from empty to full, for monochrome heat maps and colour bars: " ░▒▓█".
  public var shades: [String]
  /// Characters ordered by ink coverage, for drawing images by luminance without colour (dark → bright).
  public var luminanceRamp: [String]
  public var arrowLeft: String
  public var arrowRight: String
  public var arrowUp: String
  public var arrowDown: String
  public var bullet: String
  public var ellipsis: String
  /// The "×" in "80×24".
  public var times: String
  /// Marks the selected row of a list or table.
  public var selection: String
  /// Distinct point markers for chart series, used in order.
  public var markers: [String]
  /// The dot that connects a series' markers in a line chart.
  public var lineDot: String
  /// Shown for missing values in grids.
  public var missing: String

  /// Box drawing, block elements and arrows: for UTF-8 locales.
  public static let unicode = Glyphs(
    isASCII: false,
    box: Box(
      horizontal: "─", vertical: "│", topLeft: "┌", topRight: "┐", bottomLeft: "└", bottomRight: "┘",
      teeRight: "├", teeLeft: "┤", teeDown: "┬", teeUp: "┴", cross: "┼"),
    roundedBox: Box(
      horizontal: "─", vertical: "│", topLeft: "╭", topRight: "╮", bottomLeft: "╰", bottomRight: "╯",
      teeRight: "├", teeLeft: "┤", teeDown: "┬", teeUp: "┴", cross: "┼"),
    doubleBox: Box(
      horizontal: "═", vertical: "║", topLeft: "╔", topRight: "╗", bottomLeft: "╚", bottomRight: "╝",
      teeRight: "╠", teeLeft: "╣", teeDown: "╦", teeUp: "╩", cross: "╬"),
    thickBox: Box(
      horizontal: "━", vertical: "┃", topLeft: "┏", topRight: "┓", bottomLeft: "┗", bottomRight: "┛",
      teeRight: "┣", teeLeft: "┫", teeDown: "┳", teeUp: "┻", cross: "╋"),
    upperHalf: "▀", lowerHalf: "▄", fullBlock: "█",
    barEighths: [" ", "▏", "▎", "▍", "▌", "▋", "▊", "▉", "█"],
    sparkLevels: [" ", "▁", "▂", "▃", "▄", "▅", "▆", "▇", "█"],
    shades: [" ", "░", "▒", "▓", "█"],
    luminanceRamp: [" ", ".", ":", "-", "=", "+", "*", "#", "%", "@"],
    arrowLeft: "←", arrowRight: "→", arrowUp: "↑", arrowDown: "↓",
    bullet: "•", ellipsis: "…", times: "×", selection: "▶",
    markers: ["●", "×", "◆", "▲", "■", "+", "○", "◇"],
    lineDot: "·", missing: "·")

  /// Seven-bit ASCII only: for `LANG=C` and terminals or fonts without the Unicode blocks.
  public static let ascii: Glyphs = {
    let box = Box(
      horizontal: "-", vertical: "|", topLeft: "+", topRight: "+", bottomLeft: "+", bottomRight: "+",
      teeRight: "+", teeLeft: "+", teeDown: "+", teeUp: "+", cross: "+")
    return Glyphs(
      isASCII: true, box: box, roundedBox: box, doubleBox: box, thickBox: box,
      upperHalf: "\"", lowerHalf: "_", fullBlock: "#",
      // Two steps per cell are all ASCII can show: "=====-" reads as a classic progress bar.
      barEighths: [" ", " ", " ", " ", "-", "-", "-", "-", "="],
      sparkLevels: [" ", "_", "_", ".", "-", "-", "=", "#", "#"],
      shades: [" ", ".", ":", "+", "#"],
      luminanceRamp: [" ", ".", ":", "-", "=", "+", "*", "#", "%", "@"],
      arrowLeft: "<", arrowRight: ">", arrowUp: "^", arrowDown: "v",
      bullet: "*", ellipsis: "~", times: "x", selection: ">",
      markers: ["o", "x", "*", "+", "#", "@", "%", "&"],
      lineDot: ".", missing: ".")
  }()

  /// The table for the locale's character set: Unicode only for UTF-8 (htop's `CRT_utf8` check), unless forced.
  /// - Parameters:
  ///   - codeset: `nl_langinfo(CODESET)` after `setlocale(LC_ALL, "")`, e.g. "UTF-8" or "ANSI_X3.4-1968".
  ///   - forceASCII: true/false from a command-line flag; nil to follow the locale.
  public static func detect(codeset: String, forceASCII: Bool? = nil) -> Glyphs {
    if let forceASCII { return forceASCII ? .ascii : .unicode }
    let normalized = codeset.uppercased().filter { $0 != "-" && $0 != "_" }
    return normalized == "UTF8" ? .unicode : .ascii
  }

  /// The box for a border kind.
  public func box(_ kind: BorderKind) -> Box {
    switch kind {
    case .plain: return box
    case .rounded: return roundedBox
    case .double: return doubleBox
    case .thick: return thickBox
    }
  }

  /// The marker for series `index`, cycling through `markers`.
  public func marker(_ index: Int) -> String { markers[Int(index.magnitude) % markers.count] }
}

/// Line style of a block border.
public enum BorderKind: Hashable, Sendable {
  case plain
  case rounded
  case double
  case thick
}

/// What widgets need to know about the terminal to pick glyphs and colour fallbacks. Built once at start-up from
/// the backend (`CursesBackend.appearance`) or directly in tests.
public struct Appearance: Hashable, Sendable {
  public var glyphs: Glyphs
  public var colorMode: ColorMode

  public init(glyphs: Glyphs = .unicode, colorMode: ColorMode = .truecolor) {
    self.glyphs = glyphs
    self.colorMode = colorMode
  }

  /// Whether colours are drawn; when false, widgets encode values with glyphs (shades, luminance ramps) instead.
  public var usesColor: Bool { colorMode.usesColor }

  /// Unicode glyphs and truecolour: the richest rendering.
  public static let rich = Appearance()
  /// Unicode glyphs without colour.
  public static let unicodeMonochrome = Appearance(glyphs: .unicode, colorMode: .monochrome)
  /// ASCII glyphs without colour: the poorest terminal.
  public static let asciiMonochrome = Appearance(glyphs: .ascii, colorMode: .monochrome)
}
