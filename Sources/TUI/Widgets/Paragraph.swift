/// How a `Paragraph` treats lines wider than its area.
public enum Wrap: Hashable, Sendable {
  /// Lines are cut at the right edge.
  case none
  /// Lines break between words; a word longer than the width is split. Leading spaces of continuation rows are
  /// dropped.
  case word
  /// Lines break at the edge wherever it falls.
  case character
}

/// Styled text with wrapping, alignment and vertical scrolling.
public struct Paragraph: Widget {
  public var lines: [Line]
  public var wrap: Wrap
  /// Rows of wrapped text skipped from the top.
  public var scroll: Int
  /// When set, the area is cleared with this style first.
  public var background: Style?

  public init(_ lines: [Line], wrap: Wrap = .word, scroll: Int = 0, background: Style? = nil) {
    self.lines = lines
    self.wrap = wrap
    self.scroll = scroll
    self.background = background
  }

  /// Plain text; `\n` starts a new line.
  public init(_ text: String, style: Style = .plain, alignment: Alignment = .left, wrap: Wrap = .word) {
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
      .map { Line(String($0), style: style, alignment: alignment) }
    self.init(lines, wrap: wrap)
  }

  /// The number of rows the text takes at `width` (for sizing popups and scroll limits).
  public func rowCount(width: Int) -> Int { wrappedRows(width: width).count }

  public func render(in area: Rect, buffer: inout Buffer) {
    guard !area.isEmpty else { return }
    if let background { buffer.clear(area, style: background) }
    let rows = wrappedRows(width: area.width)
    for (offset, row) in rows.dropFirst(max(scroll, 0)).prefix(area.height).enumerated() {
      buffer.set(line: row, in: area.row(offset))
    }
  }

  /// The rows to draw: every source line wrapped to `width`, each row keeping its line's alignment.
  func wrappedRows(width: Int) -> [Line] {
    guard width > 0 else { return [] }
    return lines.flatMap { line -> [Line] in
      switch wrap {
      case .none: return [line]
      case .word: return wordWrap(line, width: width)
      case .character: return characterWrap(line, width: width)
      }
    }
  }
}

/// A character with its style and width: the unit wrapping works on.
private struct StyledCharacter {
  var character: Character
  var style: Style
  var width: Int
}

private func styledCharacters(of line: Line) -> [StyledCharacter] {
  line.spans.flatMap { span in
    span.text.compactMap { character in
      let width = displayWidth(of: character)
      return width == 0 ? nil : StyledCharacter(character: character, style: span.style, width: width)
    }
  }
}

/// Rebuilds styled spans from characters, merging neighbours of equal style.
private func makeLine(_ characters: [StyledCharacter], alignment: Alignment) -> Line {
  var spans: [Span] = []
  for item in characters {
    if let last = spans.last, last.style == item.style {
      spans[spans.count - 1].text.append(item.character)
    } else {
      spans.append(Span(String(item.character), style: item.style))
    }
  }
  return Line(spans, alignment: alignment)
}

private func characterWrap(_ line: Line, width: Int) -> [Line] {
  var rows: [[StyledCharacter]] = [[]]
  var used = 0
  for item in styledCharacters(of: line) {
    if used + item.width > width, !rows[rows.count - 1].isEmpty {
      rows.append([])
      used = 0
    }
    if item.width > width { continue }  // a wide character in a 1-column area cannot be shown at all
    rows[rows.count - 1].append(item)
    used += item.width
  }
  return rows.map { makeLine($0, alignment: line.alignment) }
}

private func wordWrap(_ line: Line, width: Int) -> [Line] {
  // Split into alternating runs of spaces and non-spaces.
  var tokens: [[StyledCharacter]] = []
  for item in styledCharacters(of: line) {
    let isSpace = item.character == " "
    if let last = tokens.last?.last, (last.character == " ") == isSpace {
      tokens[tokens.count - 1].append(item)
    } else {
      tokens.append([item])
    }
  }
  var rows: [[StyledCharacter]] = [[]]
  var used = 0
  func newRow() {
    while let last = rows[rows.count - 1].last, last.character == " " {
      rows[rows.count - 1].removeLast()
    }
    rows.append([])
    used = 0
  }
  for token in tokens {
    let tokenWidth = token.reduce(0) { $0 + $1.width }
    if token[0].character == " " {
      // Spaces at the start of a continuation row are dropped; at the end of a row they are trimmed.
      if used == 0 && rows.count > 1 { continue }
      for item in token where used + item.width <= width {
        rows[rows.count - 1].append(item)
        used += item.width
      }
      continue
    }
    if used + tokenWidth <= width {
      rows[rows.count - 1].append(contentsOf: token)
      used += tokenWidth
      continue
    }
    if tokenWidth <= width {
      newRow()
      rows[rows.count - 1].append(contentsOf: token)
      used = tokenWidth
      continue
    }
    // A word longer than a whole row: split it, starting on a fresh row unless the current one is empty.
    if used > 0 { newRow() }
    for item in token {
      if item.width > width { continue }
      if used + item.width > width { newRow() }
      rows[rows.count - 1].append(item)
      used += item.width
    }
  }
  while let last = rows[rows.count - 1].last, last.character == " " {
    rows[rows.count - 1].removeLast()
  }
  return rows.map { makeLine($0, alignment: line.alignment) }
}
