/// CRC-32 (the PNG and zlib polynomial), for crafting files whose only flaw is the one a test wants.
public func crc32(_ bytes: some Sequence<UInt8>) -> UInt32 {
  var crc: UInt32 = 0xFFFF_FFFF
  for byte in bytes {
    crc ^= UInt32(byte)
    for _ in 0..<8 { crc = crc & 1 != 0 ? (crc >> 1) ^ 0xEDB8_8320 : crc >> 1 }
  }
  return ~crc
}

/// A small seeded generator (SplitMix64), so that random tests repeat exactly and their failures reproduce.
public struct SeededRandom: RandomNumberGenerator {
  public var state: UInt64

  public init(seed: UInt64) { state = seed }

  public mutating func next() -> UInt64 {
    state &+= 0x9E37_79B9_7F4A_7C15
    var z = state
    z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
    z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
    return z ^ (z >> 31)
  }

  /// A float in `range` with 24 random bits.
  public mutating func float(in range: ClosedRange<Float> = -1...1) -> Float {
    range.lowerBound + (range.upperBound - range.lowerBound) * Float(next() >> 40) / Float(1 << 24)
  }

  public mutating func floats(_ n: Int, in range: ClosedRange<Float> = -1...1) -> [Float] {
    (0..<n).map { _ in float(in: range) }
  }
}
