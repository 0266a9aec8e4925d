// The bytes a backend writes to show images: kitty's graphics protocol (raw RGB, chunked base64, APC), DEC sixel
// (a 6x6x6 colour cube, run-length coded, DCS) and iTerm2's OSC 1337 (a PNG, base64). Pure functions from
// placements to bytes, so tests read the exact stream; CursesBackend only writes what they return.
//
// Shape legend: an image is W x H pixels, RGB (grey images are expanded); a placement covers cols x rows cells of
// cellWidth x cellHeight pixels each; sixel bands are 6 pixel rows.
import Pixels

public struct GraphicsWriter: Sendable {
  public var graphics: GraphicsProtocol
  /// One cell's size in pixels (the terminal's, from TIOCGWINSZ, when it reports one): sixel images are drawn at
  /// exactly the cells' pixel size, since sixel does not scale.
  public var cellWidth: Int, cellHeight: Int

  /// Inside tmux: every image sequence goes through tmux's passthrough (`ESC P tmux; ... ESC \`, each ESC doubled),
  /// which tmux forwards to the outer terminal when `allow-passthrough` is on.
  public var tmuxPassthrough: Bool

  public init(graphics: GraphicsProtocol, cellWidth: Int = 10, cellHeight: Int = 20, tmuxPassthrough: Bool = false) {
    self.graphics = graphics
    self.cellWidth = max(1, cellWidth)
    self.cellHeight = max(1, cellHeight)
    self.tmuxPassthrough = tmuxPassthrough
  }

  /// `bytes` as they must be written: wrapped for tmux's passthrough when inside it.
  func passed(_ bytes: [UInt8]) -> [UInt8] {
    guard tmuxPassthrough else { return bytes }
    var out: [UInt8] = Array("\u{1B}Ptmux;".utf8)
    for b in bytes { if b == Self.escape { out += [b, b] } else { out.append(b) } }
    return out + Array("\u{1B}\\".utf8)
  }

  static let escape: UInt8 = 0x1B

  /// Everything to write after a text frame: the cursor saved, kitty's earlier images deleted, each image at its
  /// cells, the cursor restored (so the text layer's idea of the cursor stays true).
  public func frame(_ placements: [ImagePlacement]) -> [UInt8] {
    var out: [UInt8] = Array("\u{1B}7".utf8)
    if graphics == .kitty { out += passed(Array("\u{1B}_Ga=d,d=A,q=2\u{1B}\\".utf8)) }
    for (index, placement) in placements.enumerated() where !placement.cells.isEmpty {
      out += Array("\u{1B}[\(placement.cells.y + 1);\(placement.cells.x + 1)H".utf8)
      out += passed(image(placement, id: index + 1))
    }
    out += Array("\u{1B}8".utf8)
    return out
  }

  /// One image's sequence, drawn from the cursor.
  public func image(_ placement: ImagePlacement, id: Int) -> [UInt8] {
    let image = rgb(placement.image)
    switch graphics {
    case .kitty:
      // f=24: raw RGB, s x v pixels, scaled by the terminal to c x r cells; C=1: the cursor does not move; q=2: no
      // replies. Chunks of at most 4096 base64 bytes, m=1 on every one but the last.
      let payload = base64(image.pixels)
      var out: [UInt8] = []
      var start = 0
      repeat {
        let end = min(start + 4096, payload.count)
        let more = end < payload.count ? 1 : 0
        let keys = start == 0
          ? "a=T,f=24,s=\(image.width),v=\(image.height),c=\(placement.cells.width),r=\(placement.cells.height),C=1,q=2,i=\(id),m=\(more)"
          : "m=\(more)"
        out += Array("\u{1B}_G\(keys);".utf8) + payload[start..<end] + Array("\u{1B}\\".utf8)
        start = end
      } while start < payload.count
      return out
    case .iterm:
      let png = PNGBytes.encode(image)
      let args = "inline=1;size=\(png.count);width=\(placement.cells.width);height=\(placement.cells.height);preserveAspectRatio=0"
      return Array("\u{1B}]1337;File=\(args):".utf8) + base64(png) + [0x07]
    case .sixel:
      let w = placement.cells.width * cellWidth, h = placement.cells.height * cellHeight
      return sixel(resized(image, width: w, height: h))
    }
  }

  /// The image as 3-channel RGB.
  func rgb(_ image: PixelImage) -> PixelImage {
    image.channels == 3 ? image : PixelImage(width: image.width, height: image.height) { x, y in image[x, y] }
  }

  /// Nearest-neighbour resampling to `width` x `height`.
  func resized(_ image: PixelImage, width: Int, height: Int) -> PixelImage {
    PixelImage(width: width, height: height) { x, y in image[x * image.width / max(1, width), y * image.height / max(1, height)] }
  }

  /// DEC sixel: `DCS 0;1;0 q "1;1;W;H`, the palette in percent, then per band of six rows each colour's columns
  /// (`#n`, one character 63 + bits a column, `!count` for runs, `$` back to the band's start), `-` to the next band.
  func sixel(_ image: PixelImage) -> [UInt8] {
    func level(_ v: UInt8) -> Int { (Int(v) * 5 + 127) / 255 }
    let index: [Int] = (0..<(image.width * image.height)).map { i in
      let c = image[i % image.width, i / image.width]
      return level(c.r) * 36 + level(c.g) * 6 + level(c.b)
    }
    var out: [UInt8] = Array("\u{1B}P0;1;0q\"1;1;\(image.width);\(image.height)".utf8)
    let used = Set(index).sorted()
    for n in used {
      out += Array("#\(n);2;\(n / 36 * 20);\(n / 6 % 6 * 20);\(n % 6 * 20)".utf8)
    }
    var band = 0
    while band * 6 < image.height {
      let rows = band * 6..<min(band * 6 + 6, image.height)
      let colours = Set(rows.flatMap { y in (0..<image.width).map { index[y * image.width + $0] } }).sorted()
      for (k, n) in colours.enumerated() {
        out += Array("#\(n)".utf8)
        var x = 0
        while x < image.width {
          var bits = 0
          for y in rows where index[y * image.width + x] == n { bits |= 1 << (y - band * 6) }
          var run = 1
          while x + run < image.width {
            var next = 0
            for y in rows where index[y * image.width + x + run] == n { next |= 1 << (y - band * 6) }
            if next != bits { break }
            run += 1
          }
          let symbol = UInt8(63 + bits)
          out += run >= 4 ? Array("!\(run)".utf8) + [symbol] : Array(repeating: symbol, count: run)
          x += run
        }
        if k + 1 < colours.count { out.append(UInt8(ascii: "$")) }
      }
      out.append(UInt8(ascii: "-"))
      band += 1
    }
    return out + Array("\u{1B}\\".utf8)
  }
}

/// Standard base64 (RFC 4648, with padding).
func base64(_ bytes: [UInt8]) -> [UInt8] {
  let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
  var out: [UInt8] = []
  out.reserveCapacity((bytes.count + 2) / 3 * 4)
  var i = 0
  while i < bytes.count {
    let b0 = Int(bytes[i]), b1 = i + 1 < bytes.count ? Int(bytes[i + 1]) : 0, b2 = i + 2 < bytes.count ? Int(bytes[i + 2]) : 0
    out.append(alphabet[b0 >> 2])
    out.append(alphabet[(b0 & 3) << 4 | b1 >> 4])
    out.append(i + 1 < bytes.count ? alphabet[(b1 & 15) << 2 | b2 >> 6] : UInt8(ascii: "="))
    out.append(i + 2 < bytes.count ? alphabet[b2 & 63] : UInt8(ascii: "="))
    i += 3
  }
  return out
}

/// A minimal PNG writer for iTerm2's protocol: 8-bit RGB, no filtering, zlib "stored" blocks (no compression: the
/// images are small and the TUI module links no zlib).
enum PNGBytes {
  static func encode(_ image: PixelImage) -> [UInt8] {
    var raw: [UInt8] = []
    raw.reserveCapacity((image.width * 3 + 1) * image.height)
    for y in 0..<image.height {
      raw.append(0)
      raw += image.pixels[(y * image.width * 3)..<((y + 1) * image.width * 3)]
    }
    var zlib: [UInt8] = [0x78, 0x01]
    var offset = 0
    repeat {
      let length = min(65535, raw.count - offset)
      let final: UInt8 = offset + length == raw.count ? 1 : 0
      zlib += [final, UInt8(length & 0xFF), UInt8(length >> 8), UInt8(~length & 0xFF), UInt8((~length >> 8) & 0xFF)]
      zlib += raw[offset..<(offset + length)]
      offset += length
    } while offset < raw.count
    zlib += bigEndian(adler32(raw))
    var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    png += chunk("IHDR", bigEndian(UInt32(image.width)) + bigEndian(UInt32(image.height)) + [8, 2, 0, 0, 0])
    png += chunk("IDAT", zlib)
    png += chunk("IEND", [])
    return png
  }

  static func chunk(_ type: String, _ data: [UInt8]) -> [UInt8] {
    let body = Array(type.utf8) + data
    return bigEndian(UInt32(data.count)) + body + bigEndian(crc32(body))
  }

  static func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }

  static let crcTable: [UInt32] = (0..<256).map { n -> UInt32 in
    var c = UInt32(n)
    for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    return c
  }

  static func crc32(_ bytes: [UInt8]) -> UInt32 {
    var c: UInt32 = 0xFFFF_FFFF
    for b in bytes { c = crcTable[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
    return c ^ 0xFFFF_FFFF
  }

  static func adler32(_ bytes: [UInt8]) -> UInt32 {
    var a: UInt32 = 1, b: UInt32 = 0
    for byte in bytes { a = (a + UInt32(byte)) % 65521; b = (b + a) % 65521 }
    return b << 16 | a
  }
}
