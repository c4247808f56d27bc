//! Exact decimal parsing and comparison.

use super::*;

#[test]
fn decimal_parsing_and_order() {
    use std::cmp::Ordering::*;
    let c = |a: &str, b: &str| decimal::cmp(decimal::parse(a).unwrap(), decimal::parse(b).unwrap());
    assert_eq!(c("007.500", "7.5"), Equal);
    assert_eq!(c(".5", "0.50"), Equal);
    assert_eq!(c("1.", "1"), Equal);
    assert_eq!(c("-0", "0.000"), Equal);
    assert_eq!(c("-1", "0"), Less);
    assert_eq!(c("-2", "-1"), Less);
    assert_eq!(c("-1.01", "-1.1"), Greater);
    assert_eq!(c("0.5", "0.51"), Less);
    assert_eq!(c("0.6", "0.51"), Greater);
    assert_eq!(c("100", "99.999"), Greater);
    assert_eq!(c("+3", "3"), Equal);
    for bad in ["", "-", ".", "1e5", "1.2.3", "--1", " 1", "NaN"] {
        assert_eq!(decimal::parse(bad), None, "{bad:?}");
    }
    let mut buf = [0u8; 20];
    let min = decimal::from_i64(i64::MIN, &mut buf);
    assert_eq!(
        decimal::cmp(min, decimal::parse("-9223372036854775808").unwrap()),
        Equal
    );
    let mut buf = [0u8; 20];
    assert_eq!(decimal::from_i64(0, &mut buf), decimal::parse("0").unwrap());
}
