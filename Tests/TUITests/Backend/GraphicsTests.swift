// Inline images as bytes: which protocol an environment or a device-attributes answer selects, and the exact
// streams for kitty, sixel and iTerm2. The expected bytes are written out here from the protocols' documentation
// (kitty's graphics protocol, DEC's sixel format, iTerm2's OSC 1337); base64 and the PNG CRCs are checked against
// known values, not against this encoder.
import Pixels
import Testing
@testable import TUI

@Suite("Inline images")
struct GraphicsTests {
  @Test func theEnvironmentNamesTheProtocol() {
    #expect(GraphicsProtocol.detect(environment: ["TERM": "xterm-kitty"]) == .kitty)
    #expect(GraphicsProtocol.detect(environment: ["TERM": "xterm-256color", "KITTY_WINDOW_ID": "1"]) == .kitty)
    #expect(GraphicsProtocol.detect(environment: ["TERM": "xterm-ghostty"]) == .kitty)
    #expect(GraphicsProtocol.detect(environment: ["TERM": "xterm-256color", "TERM_PROGRAM": "WezTerm"]) == .kitty)
    #expect(GraphicsProtocol.detect(environment: ["TERM": "xterm-256color", "TERM_PROGRAM": "iTerm.app"]) == .iterm)
    #expect(GraphicsProtocol.detect(environment: ["TERM": "foot"]) == .sixel)
    #expect(GraphicsProtocol.detect(environment: ["TERM": "xterm-256color"]) == nil)
    // tmux hides the outer terminal unless it passes the sequences through.
    #expect(GraphicsProtocol.detect(environment: ["TERM": "tmux-256color", "TMUX": "/tmp/s,1,0", "KITTY_WINDOW_ID": "1"]) == nil)
    #expect(GraphicsProtocol.detect(environment: ["TERM": "tmux-256color", "TMUX": "/tmp/s,1,0", "KITTY_WINDOW_ID": "1"],
                                    passthrough: true) == .kitty)
  }

  @Test func aDeviceAttributesAnswerListsSixel() {
    #expect(GraphicsProtocol.deviceAttributesListSixel("\u{1B}[?62;4;22c"))
    #expect(GraphicsProtocol.deviceAttributesListSixel("\u{1B}[?64;1;2;4;6;9;15;22c"))
    #expect(!GraphicsProtocol.deviceAttributesListSixel("\u{1B}[?62;22c"))
    #expect(!GraphicsProtocol.deviceAttributesListSixel("\u{1B}[?1;2c"))
    #expect(!GraphicsProtocol.deviceAttributesListSixel(""))
    let xterm = ["TERM": "xterm-256color"]
    #expect(GraphicsMode.auto.resolve(environment: xterm, deviceAttributes: "\u{1B}[?63;4c") == .sixel)
    #expect(GraphicsMode.auto.resolve(environment: xterm, deviceAttributes: "\u{1B}[?63;1c") == nil)
    #expect(GraphicsMode.auto.resolve(environment: ["TERM": "screen", "TMUX": "x"], deviceAttributes: "\u{1B}[?63;4c") == nil)
    #expect(GraphicsMode.none.resolve(environment: ["TERM": "xterm-kitty"]) == nil)
    #expect(GraphicsMode.sixel.resolve(environment: [:]) == .sixel)
    #expect(GraphicsMode(argument: "off") == GraphicsMode.none && GraphicsMode(argument: "kitty") == .kitty)
    #expect(GraphicsMode(argument: "png") == nil)
  }

  @Test func base64MatchesRFC4648() {
    #expect(String(decoding: base64(Array("foobar".utf8)), as: UTF8.self) == "Zm9vYmFy")
    #expect(String(decoding: base64(Array("fooba".utf8)), as: UTF8.self) == "Zm9vYmE=")
    #expect(String(decoding: base64(Array("foob".utf8)), as: UTF8.self) == "Zm9vYg==")
  }

  /// A red and a blue pixel over two cells at column 3, row 4: the cursor saved, earlier images deleted, the cursor
  /// moved (1-based), raw RGB in one chunk, the cursor restored.
  @Test func kittyStream() {
    let image = PixelImage(width: 2, height: 1, channels: 3, pixels: [255, 0, 0, 0, 0, 255])
    let bytes = GraphicsWriter(graphics: .kitty).frame([ImagePlacement(cells: Rect(x: 3, y: 4, width: 2, height: 1), image: image)])
    let expected = "\u{1B}7\u{1B}_Ga=d,d=A,q=2\u{1B}\\\u{1B}[5;4H\u{1B}_Ga=T,f=24,s=2,v=1,c=2,r=1,C=1,q=2,i=1,m=0;/wAAAAD/\u{1B}\\\u{1B}8"
    #expect(String(decoding: bytes, as: UTF8.self) == expected)
  }

  /// Inside tmux each sequence is wrapped for its passthrough, every ESC doubled; the cursor moves stay tmux's own.
  @Test func tmuxPassthroughWrapsEachSequence() {
    let image = PixelImage(width: 2, height: 1, channels: 3, pixels: [255, 0, 0, 0, 0, 255])
    let writer = GraphicsWriter(graphics: .kitty, tmuxPassthrough: true)
    let bytes = writer.frame([ImagePlacement(cells: Rect(x: 3, y: 4, width: 2, height: 1), image: image)])
    let expected = "\u{1B}7\u{1B}Ptmux;\u{1B}\u{1B}_Ga=d,d=A,q=2\u{1B}\u{1B}\\\u{1B}\\\u{1B}[5;4H"
      + "\u{1B}Ptmux;\u{1B}\u{1B}_Ga=T,f=24,s=2,v=1,c=2,r=1,C=1,q=2,i=1,m=0;/wAAAAD/\u{1B}\u{1B}\\\u{1B}\\\u{1B}8"
    #expect(String(decoding: bytes, as: UTF8.self) == expected)
  }

  /// A large image goes in chunks of 4096 base64 bytes, m=1 on all but the last.
  @Test func kittyChunks() {
    let image = PixelImage(width: 64, height: 64) { x, y in RGB(UInt8(x * 4), UInt8(y * 4), 7) }
    let text = String(decoding: GraphicsWriter(graphics: .kitty).image(ImagePlacement(cells: Rect(x: 0, y: 0, width: 8, height: 4), image: image), id: 1),
                      as: UTF8.self)
    let chunks = text.split(separator: "\u{1B}\\").map(String.init)
    #expect(chunks.count == (64 * 64 * 3 * 4 / 3 + 4095) / 4096)
    #expect(chunks.first!.hasPrefix("\u{1B}_Ga=T,f=24,s=64,v=64,c=8,r=4,C=1,q=2,i=1,m=1;"))
    #expect(chunks.dropFirst().dropLast().allSatisfy { $0.hasPrefix("\u{1B}_Gm=1;") && $0.count == "\u{1B}_Gm=1;".count + 4096 })
    #expect(chunks.last!.hasPrefix("\u{1B}_Gm=0;"))
  }

  /// Two red columns, six rows: one band, one colour (red is cube entry 5 * 36 = 180, 100% 0% 0%), every bit set.
  @Test func sixelStream() {
    let image = PixelImage(width: 2, height: 6) { _, _ in RGB(255, 0, 0) }
    let writer = GraphicsWriter(graphics: .sixel, cellWidth: 2, cellHeight: 6)
    let bytes = writer.image(ImagePlacement(cells: Rect(x: 0, y: 0, width: 1, height: 1), image: image), id: 1)
    #expect(String(decoding: bytes, as: UTF8.self) == "\u{1B}P0;1;0q\"1;1;2;6#180;2;100;0;0#180~~-\u{1B}\\")
    // Runs of four or more repeat with !n; a second colour returns to the band's start with $; rows 1-5 of the
    // second colour are bits 1-5 (63 + 62 = '}').
    let striped = PixelImage(width: 5, height: 6) { _, y in y == 0 ? RGB(0, 0, 0) : RGB(255, 255, 255) }
    let text = String(decoding: GraphicsWriter(graphics: .sixel, cellWidth: 5, cellHeight: 6)
      .image(ImagePlacement(cells: Rect(x: 0, y: 0, width: 1, height: 1), image: striped), id: 1), as: UTF8.self)
    #expect(text == "\u{1B}P0;1;0q\"1;1;5;6#0;2;0;0;0#215;2;100;100;100#0!5@$#215!5}-\u{1B}\\")
  }

  /// iTerm2: OSC 1337 with the cell size and a base64 PNG whose chunks carry correct CRCs.
  @Test func itermStream() throws {
    let image = PixelImage(width: 1, height: 1, channels: 3, pixels: [0, 0, 0])
    let text = String(decoding: GraphicsWriter(graphics: .iterm).image(ImagePlacement(cells: Rect(x: 0, y: 0, width: 2, height: 1), image: image), id: 1),
                      as: UTF8.self)
    let png = PNGBytes.encode(image)
    #expect(text == "\u{1B}]1337;File=inline=1;size=\(png.count);width=2;height=1;preserveAspectRatio=0:" + String(decoding: base64(png), as: UTF8.self) + "\u{07}")
    #expect(Array(png.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    // IEND's CRC is the same in every PNG; IHDR's for a 1x1 8-bit RGB image is 0x907753DE.
    #expect(Array(png.suffix(4)) == [0xAE, 0x42, 0x60, 0x82])
    #expect(Array(png[29..<33]) == [0x90, 0x77, 0x53, 0xDE])
    // The zlib stream: one final stored block of 4 bytes (filter 0 and three zero bytes), Adler-32 0x00040001.
    #expect(Array(png[41..<56]) == [0x78, 0x01, 0x01, 0x04, 0x00, 0xFB, 0xFF, 0x00, 0x00, 0x00, 0x00, 0x00, 0x04, 0x00, 0x01])
  }
}
