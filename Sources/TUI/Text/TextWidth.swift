/// Terminal column widths of text, computed in Swift rather than with libc's `wcwidth` so that layout is the same
/// in tests and in every locale.
///
/// Rules (those of `wcwidth` in practice): East Asian Wide/Fullwidth characters and emoji shown with emoji
/// presentation take 2 columns; combining marks, format characters (ZWJ, variation selectors) and control
/// characters take 0; everything else takes 1. A grapheme cluster takes the width of its base character, or 2 when
/// it asks for emoji presentation (U+FE0F) or is an emoji sequence.

/// Columns taken by a single grapheme cluster: 0, 1 or 2.
public func displayWidth(of character: Character) -> Int {
  var scalars = character.unicodeScalars.makeIterator()
  guard let first = scalars.next() else { return 0 }
  let baseWidth = scalarWidth(first)
  if baseWidth == 2 { return 2 }
  var hasFollowers = false
  while let next = scalars.next() {
    hasFollowers = true
    // VS16 turns text-style emoji (e.g. "❤") into two-column emoji; ZWJ sequences are emoji by construction.
    if next.value == 0xFE0F || next.value == 0x200D, first.properties.isEmoji { return 2 }
    if baseWidth == 0, scalarWidth(next) > 0 { return scalarWidth(next) }
  }
  if hasFollowers, first.properties.isEmoji, first.value >= 0x1F1E6, first.value <= 0x1F1FF { return 2 }  // flags
  return baseWidth
}

/// Columns taken by a string: the sum over its grapheme clusters.
public func displayWidth(of text: some StringProtocol) -> Int {
  var total = 0
  for character in text { total += displayWidth(of: character) }
  return total
}

/// Width of one Unicode scalar.
func scalarWidth(_ scalar: Unicode.Scalar) -> Int {
  let value = scalar.value
  if value == 0 { return 0 }
  if value < 0x20 || (value >= 0x7F && value < 0xA0) { return 0 }  // C0/C1 controls
  if value < 0x300 { return 1 }  // fast path for Latin
  switch scalar.properties.generalCategory {
  case .nonspacingMark, .enclosingMark, .format:
    return 0
  default:
    break
  }
  if value >= 0x1160 && value <= 0x11FF { return 0 }  // Hangul medial vowels and final consonants combine
  if scalar.properties.isEmojiPresentation { return 2 }
  return isEastAsianWide(value) ? 2 : 1
}

/// East Asian Wide (W) and Fullwidth (F) ranges, from Unicode's EastAsianWidth.txt (condensed, as in Markus Kuhn's
/// `wcwidth` and its successors).
private func isEastAsianWide(_ value: UInt32) -> Bool {
  switch value {
  case 0x1100...0x115F,  // Hangul Jamo initial consonants
    0x231A...0x231B, 0x2329...0x232A, 0x23E9...0x23EC, 0x23F0, 0x23F3,
    0x2E80...0x303E,  // CJK radicals, Kangxi, CJK symbols and punctuation
    0x3041...0x33FF,  // Hiragana, Katakana, Bopomofo, Hangul compatibility Jamo, CJK compatibility
    0x3400...0x4DBF,  // CJK Extension A
    0x4E00...0x9FFF,  // CJK Unified Ideographs
    0xA000...0xA4CF,  // Yi
    0xA960...0xA97F,  // Hangul Jamo Extended-A
    0xAC00...0xD7A3,  // Hangul syllables
    0xF900...0xFAFF,  // CJK compatibility ideographs
    0xFE10...0xFE19,  // vertical forms
    0xFE30...0xFE6F,  // CJK compatibility forms, small form variants
    0xFF00...0xFF60,  // fullwidth forms
    0xFFE0...0xFFE6,
    0x16FE0...0x16FE4, 0x17000...0x18CFF,  // Tangut
    0x1B000...0x1B2FF,  // Kana supplement
    0x1F300...0x1F64F,  // pictographs and emoticons
    0x1F900...0x1F9FF,  // supplemental symbols and pictographs
    0x20000...0x2FFFD,  // CJK Extensions B–F
    0x30000...0x3FFFD:
    return true
  default:
    return false
  }
}

/// The longest prefix of `text` that fits in `width` columns, never splitting a grapheme cluster.
public func prefix(of text: String, fittingWidth width: Int) -> String {
  guard width > 0 else { return "" }
  var used = 0
  var result = ""
  for character in text {
    let w = displayWidth(of: character)
    if used + w > width { break }
    used += w
    result.append(character)
  }
  return result
}

/// `text` cut to `width` columns, ending in `ellipsis` when something was cut (e.g. "tokensc…"). When even the
/// ellipsis does not fit, the plain prefix is returned.
public func truncate(_ text: String, toWidth width: Int, ellipsis: String = "…") -> String {
  guard width > 0 else { return "" }
  if displayWidth(of: text) <= width { return text }
  let ellipsisWidth = displayWidth(of: ellipsis)
  guard ellipsisWidth < width else { return prefix(of: text, fittingWidth: width) }
  return prefix(of: text, fittingWidth: width - ellipsisWidth) + ellipsis
}
