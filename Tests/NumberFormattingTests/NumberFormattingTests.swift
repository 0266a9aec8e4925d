import NumberFormatting
import Testing

@Suite struct NumberFormattingTests {
  @Test func fixedDecimals() {
    #expect(formatFixed(0.705, decimals: 2) == "0.71")
    #expect(formatFixed(2, decimals: 2) == "2.00")
    #expect(formatFixed(-1.25, decimals: 1) == "-1.3")
    #expect(formatFixed(-0.001, decimals: 2) == "0.00")
    #expect(formatFixed(197, decimals: 0) == "197")
    #expect(formatFixed(.nan, decimals: 2) == "nan")
    #expect(formatFixed(-.infinity, decimals: 2) == "-inf")
  }

  @Test func trimmedDecimals() {
    #expect(formatFixed(0.7, decimals: 2, trimmingZeros: true) == "0.7")
    #expect(formatFixed(0.05, decimals: 2, trimmingZeros: true) == "0.05")
    #expect(formatFixed(1, decimals: 2, trimmingZeros: true) == "1")
    #expect(formatFixed(-0.001, decimals: 2, trimmingZeros: true) == "0")
    #expect(formatFixed(120, decimals: 0, trimmingZeros: true) == "120")
  }

  @Test func compactLabels() {
    #expect(formatCompact(0) == "0")
    #expect(formatCompact(0.5) == "0.5")
    #expect(formatCompact(2.5) == "2.5")
    #expect(formatCompact(197) == "197")
    #expect(formatCompact(12.25) == "12.3")
    #expect(formatCompact(4_608_338_304) == "4.6G")
    #expect(formatCompact(150_000) == "150k")
    #expect(formatCompact(-2_000_000) == "-2M")
  }
}
