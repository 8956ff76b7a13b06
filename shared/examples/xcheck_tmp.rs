//! temporary
fn main() {
    let mut x: u64 = 0x9e3779b97f4a7c15;
    for i in 0..200000u64 {
        x ^= x << 13; x ^= x >> 7; x ^= x << 17;
        let bits = match i % 4 { 0 => x, 1 => (x & 0x000f_ffff_ffff_ffff) | (((x >> 52) % 120 + 1000) << 52), 2 => (x & 0x000f_ffff_ffff_ffff) | (((x>>52)%2046+1)<<52), _ => ((x % 100000000) as f64 / 100.0).to_bits() };
        let f = f64::from_bits(bits);
        if !f.is_finite() { continue; }
        println!("{bits:016x} {}", audit_shared::ledger::jcs::ecmascript_number(f));
    }
}
