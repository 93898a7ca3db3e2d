using System.Text.RegularExpressions;
using Serverless.Promotions.Engine;
using Serverless.Promotions.Engine.Coupons;
using Serverless.Promotions.Engine.Definitions;
using Serverless.Promotions.Engine.Pricing;
using Serverless.Promotions.Engine.Results;
using Serverless.Promotions.Engine.Validation;
using static Promotions.Tests.Given;

namespace Promotions.Tests;

public sealed partial class CouponBatchTests
{
    /// <summary>Bytes 0, 1, …, 31.</summary>
    private const string TestKey = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=";

    private static readonly CouponBatch Xmas = new("b1", "xmas-2026", "XMAS", 10_000, TestKey);

    private static readonly Basket Shoes = Basket(Line("1", "runner", 2, 44m, "shoes"));

    private static PromotionDefinition NeedsCoupon(string id, params string[] codes) =>
        Item(id, new Reward.PercentOffItems(10m)) with { Coupon = new CouponRequirement { Codes = codes } };

    private static PricingResult Price(PromotionSnapshot snapshot, params string[] coupons) =>
        snapshot.Calculate(Shoes, new PricingContext(Noon) { Coupons = coupons });

    [GeneratedRegex("^XMAS-[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}-[0-9A-HJKMNP-TV-Z]{5}$")]
    private static partial Regex CodeShape();

    [Theory]
    [InlineData(0, "XMAS-00000-02ZPV-971A8")]
    [InlineData(1, "XMAS-00000-09PPF-575M4")]
    [InlineData(42, "XMAS-00000-AQB0A-ZA532")]
    [InlineData(9_999_999, "XMAS-02C9C-ZZP4D-X7DT8")]
    public void Codes_follow_the_documented_format(int serial, string expected)
    {
        // Worked out independently (Python's hmac) from the format in the README, so a POS written in another language can check itself.
        var batch = Xmas with { PromotionId = "xmas-2026", Count = CouponCodes.MaxCount };

        Assert.Equal(expected, CouponCodes.Generate(batch, serial));
        Assert.True(CouponCodes.TryVerify(expected, batch, out var verified));
        Assert.Equal(serial, verified);
    }

    [Fact]
    public void Every_one_of_ten_thousand_codes_is_unique_well_formed_and_verifies_as_its_own_serial()
    {
        var codes = new CouponBatchCodes(Xmas);
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var serial = 0; serial < Xmas.Count; serial++)
        {
            var code = codes.Generate(serial);
            Assert.True(seen.Add(code), $"serial {serial} repeats {code}");
            Assert.Matches(CodeShape(), code);
            Assert.True(codes.TryVerify(code, out var verified));
            Assert.Equal(serial, verified);
        }

        Assert.Equal(10_000, seen.Count);
    }

    [Fact]
    public void A_tampered_character_anywhere_in_the_generated_part_is_not_accepted()
    {
        var code = CouponCodes.Generate(Xmas, 1234);
        for (var i = 0; i < code.Length; i++)
        {
            if (code[i] == '-' || i < "XMAS-".Length)
            {
                continue;
            }

            foreach (var replacement in new[] { '7', 'Z' })
            {
                if (code[i] != replacement)
                {
                    var tampered = string.Concat(code.AsSpan(0, i), replacement.ToString(), code.AsSpan(i + 1));
                    Assert.False(CouponCodes.TryVerify(tampered, Xmas), tampered);
                }
            }
        }

        Assert.False(CouponCodes.TryVerify("XMAZ" + code[4..], Xmas));
        Assert.False(CouponCodes.TryVerify("XXMAS" + code[4..], Xmas));
    }

    [Fact]
    public void Codes_outside_the_batch_of_its_promotion_and_key_are_not_accepted()
    {
        var bigger = Xmas with { Count = 20_000 };
        Assert.True(CouponCodes.TryVerify(CouponCodes.Generate(bigger, 9_999), Xmas));
        Assert.False(CouponCodes.TryVerify(CouponCodes.Generate(bigger, 10_000), Xmas)); // serial beyond the count
        Assert.False(CouponCodes.TryVerify(CouponCodes.Generate(bigger, 19_999), Xmas));

        var code = CouponCodes.Generate(Xmas, 7);
        Assert.False(CouponCodes.TryVerify(code, Xmas with { PromotionId = "easter-2027" }));
        Assert.False(CouponCodes.TryVerify(code, Xmas with { Id = "b2" }));
        Assert.False(CouponCodes.TryVerify(code, Xmas with { Key = Convert.ToBase64String(Enumerable.Range(1, 32).Select(i => (byte)i).ToArray()) }));
        Assert.False(CouponCodes.TryVerify(code, Xmas with { Revoked = true }));
        Assert.True(new CouponBatchCodes(Xmas with { Revoked = true }).TryMatch(code, out var serial)); // still recognisable, for the lookup
        Assert.Equal(7, serial);
        Assert.Throws<ArgumentOutOfRangeException>(() => CouponCodes.Generate(Xmas, 10_000));
        Assert.Throws<ArgumentOutOfRangeException>(() => CouponCodes.Generate(Xmas, -1));
    }

    [Fact]
    public void Codes_are_read_in_any_case_without_dashes_and_with_the_crockford_aliases()
    {
        var code = CouponCodes.Generate(Xmas, 1); // XMAS-00000-0…: has zeros to misread as O
        var withOne = Enumerable.Range(0, Xmas.Count).Select(s => CouponCodes.Generate(Xmas, s)).First(c => c[5..].Contains('1', StringComparison.Ordinal));
        var spellings = new[]
        {
            code.ToLowerInvariant(),
            code.Replace("-", "", StringComparison.Ordinal),
            " " + code.Replace("-", " ", StringComparison.Ordinal) + " ",
            "XMAS-" + code[5..].Replace('0', 'O'),
            "xmas" + code[5..].Replace('0', 'o').Replace("-", "", StringComparison.Ordinal),
        };

        foreach (var spelling in spellings)
        {
            Assert.True(CouponCodes.TryVerify(spelling, Xmas), spelling);
            Assert.Equal(code, CouponCodes.Normalise(spelling));
        }

        foreach (var spelling in new[] { "XMAS-" + withOne[5..].Replace('1', 'I'), "XMAS-" + withOne[5..].Replace('1', 'l') })
        {
            Assert.True(CouponCodes.TryVerify(spelling, Xmas), spelling);
            Assert.Equal(withOne, CouponCodes.Normalise(spelling));
        }

        Assert.Null(CouponCodes.Normalise("0000-0000-0000-000"));         // too short: 15 characters and no prefix
        Assert.Null(CouponCodes.Normalise(code.Replace('0', 'U')));         // U is no code character
        Assert.Null(CouponCodes.Normalise("XMAS_" + code[5..]));            // only dashes and spaces are ignored
        Assert.Null(CouponCodes.Normalise("THIRTEENCHARS" + code[5..]));    // prefix longer than 12
        Assert.False(CouponCodes.TryVerify(code.Replace('0', 'U'), Xmas));
    }

    [Fact]
    public void A_basket_with_a_batch_code_gets_the_promotion_and_the_outcome_names_the_code_in_its_canonical_spelling()
    {
        var snapshot = PromotionSnapshot.Compile([NeedsCoupon("xmas-2026", "SUMMER10"), NeedsCoupon("other")], [Xmas]);
        var code = CouponCodes.Generate(Xmas, 77);

        var priced = Price(snapshot, "WRONG", code.ToLowerInvariant().Replace("-", "", StringComparison.Ordinal));

        var outcome = priced.Outcome("xmas-2026");
        Assert.True(outcome.Applied);
        Assert.Equal(code, outcome.Coupon);
        Assert.Equal(8.80m, priced.TotalDiscount);
        Assert.Equal(OutcomeReason.CouponMissing, priced.Outcome("other").Reason); // a batch code unlocks only its own promotion
        Assert.Null(priced.Outcome("other").Coupon);

        // A static code is reported as the definition spells it, so every spelling counts as one code.
        Assert.Equal("SUMMER10", Price(snapshot, "summer10").Outcome("xmas-2026").Coupon);

        // The code is also named when the coupon passed but something else stopped the promotion.
        var spendMore = PromotionSnapshot.Compile([NeedsCoupon("xmas-2026") with { Conditions = [new Condition.MinimumSpend(500m)] }], [Xmas]);
        var stopped = Price(spendMore, code).Outcome("xmas-2026");
        Assert.Equal((OutcomeReason.MinimumSpendNotMet, code), (stopped.Reason, stopped.Coupon));
    }

    [Fact]
    public void A_wrong_or_revoked_batch_code_gives_the_same_coupon_required_reason_as_a_missing_code()
    {
        var missing = Price(PromotionSnapshot.Compile([NeedsCoupon("xmas-2026")], [Xmas])).Outcome("xmas-2026");
        Assert.Equal(OutcomeReason.CouponMissing, missing.Reason);

        var code = CouponCodes.Generate(Xmas, 5);
        var tampered = code[..^1] + (code[^1] == 'Z' ? 'Y' : 'Z');
        var cases = new[]
        {
            (PromotionSnapshot.Compile([NeedsCoupon("xmas-2026")], [Xmas]), tampered),
            (PromotionSnapshot.Compile([NeedsCoupon("xmas-2026")], [Xmas]), "XMAS-NOT-A-CODE"),
            (PromotionSnapshot.Compile([NeedsCoupon("xmas-2026")], [Xmas with { Revoked = true }]), code),
            (PromotionSnapshot.Compile([NeedsCoupon("xmas-2026")]), code),
        };
        foreach (var (snapshot, presented) in cases)
        {
            var outcome = Price(snapshot, presented).Outcome("xmas-2026");
            Assert.Equal((missing.Reason, missing.Message, (string?)null), (outcome.Reason, outcome.Message, outcome.Coupon));
        }
    }

    [Fact]
    public void Batches_are_validated_with_paths_and_their_key_never_shows()
    {
        var batches = new[]
        {
            Xmas with { PromotionId = "nope" },
            Xmas with { PromotionId = "open" },
            Xmas with { Id = "b2", Prefix = "x-mas" },
            Xmas with { Id = "b3", Count = 0 },
            Xmas with { Id = "b4", Key = Convert.ToBase64String(new byte[8]) },
            Xmas,
            Xmas,
        };

        var error = Assert.Throws<PromotionDefinitionException>(() =>
            PromotionSnapshot.Compile([NeedsCoupon("xmas-2026"), Item("open", new Reward.PercentOffItems(5m))], batches));

        Assert.Equal(
            ["batches[0].promotionId", "batches[1].promotionId", "batches[2].prefix", "batches[3].count", "batches[4].key", "batches[6].id"],
            error.Problems.Select(p => p.Path));
        Assert.DoesNotContain(TestKey, error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(TestKey, Xmas.ToString(), StringComparison.Ordinal);
        Assert.Contains("Prefix = XMAS", Xmas.ToString(), StringComparison.Ordinal);
    }

    [Theory]
    [InlineData("XMAS", true)]
    [InlineData("A", true)]
    [InlineData("ABCDEFGHIJ12", true)]
    [InlineData("ABCDEFGHIJ123", false)]
    [InlineData("", false)]
    [InlineData("xmas", false)]
    [InlineData("X-MAS", false)]
    [InlineData("ÄPFEL", false)]
    public void Prefixes_are_one_to_twelve_upper_case_letters_or_digits(string prefix, bool valid) =>
        Assert.Equal(valid, CouponCodes.IsValidPrefix(prefix));
}
