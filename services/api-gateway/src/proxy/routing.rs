//! The order in which a request tries provider keys: the vault's order by scope (user →
//! project → team → org) and priority is kept between tiers; inside a tier (keys of equal scope
//! level and priority) the order is a weighted random permutation, so the first key is picked
//! with probability `weight / sum of the tier's weights` and the rest follow as failover.

use keyward_proto::v1 as pb;
use rand::Rng;

/// One provider key a request may use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    pub id: String,
    /// `(scope level, priority)`: keys with the same tier share traffic by weight. `None` (a
    /// vault that sent no metadata): a tier of its own.
    pub tier: Option<(u8, i32)>,
    pub weight: u32,
}

/// The scope level of a key: 0 user, 1 project, 2 team, 3 org.
pub fn tier_of(meta: &pb::KeyMetadata) -> (u8, i32) {
    let level = match &meta.scope {
        Some(s) if s.user_id.is_some() => 0,
        Some(s) if s.project_id.is_some() => 1,
        Some(s) if s.team_id.is_some() => 2,
        _ => 3,
    };
    (level, meta.priority)
}

impl Candidate {
    pub fn from_meta(meta: &pb::KeyMetadata) -> Self {
        Self {
            id: meta.id.clone(),
            tier: Some(tier_of(meta)),
            weight: meta.weight.max(1),
        }
    }

    /// A candidate known only by its place in the vault's order.
    pub fn ordered(id: String) -> Self {
        Self {
            id,
            tier: None,
            weight: 1,
        }
    }
}

/// The ids to try, in order: tiers as given (they arrive contiguous, best first), each tier
/// shuffled by weight (Efraimidis–Spirakis: sort by `-ln(u) / weight`, smallest first, which
/// draws the first key with probability proportional to its weight, then the next among the
/// rest, and so on).
pub fn order<R: Rng + ?Sized>(candidates: &[Candidate], rng: &mut R) -> Vec<String> {
    let mut out = Vec::with_capacity(candidates.len());
    let mut rest = candidates;
    while let Some(first) = rest.first() {
        let len = match first.tier {
            Some(t) => rest.iter().take_while(|c| c.tier == Some(t)).count(),
            None => 1,
        };
        let (tier, tail) = rest.split_at(len);
        rest = tail;
        if tier.len() == 1 {
            out.push(first.id.clone());
            continue;
        }
        let mut keyed: Vec<(f64, &Candidate)> = tier
            .iter()
            .map(|c| {
                // `random()` is in [0, 1): 1 - u is in (0, 1], so ln never sees 0.
                let u: f64 = 1.0 - rng.random::<f64>();
                (-u.ln() / f64::from(c.weight.max(1)), c)
            })
            .collect();
        keyed.sort_by(|a, b| a.0.total_cmp(&b.0));
        out.extend(keyed.into_iter().map(|(_, c)| c.id.clone()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng as _;
    use rand::rngs::StdRng;

    fn c(id: &str, tier: (u8, i32), weight: u32) -> Candidate {
        Candidate {
            id: id.into(),
            tier: Some(tier),
            weight,
        }
    }

    #[test]
    fn tiers_keep_their_order_and_share_by_weight_inside() {
        let cands = [
            c("team", (2, 0), 1),
            c("a", (3, 5), 300),
            c("b", (3, 5), 100),
            c("low", (3, 0), 1000),
        ];
        let mut rng = StdRng::seed_from_u64(7);
        let n: i64 = 20_000;
        let mut a_second = 0;
        for _ in 0..n {
            let o = order(&cands, &mut rng);
            assert_eq!(o.len(), 4);
            assert_eq!(o[0], "team");
            assert_eq!(o[3], "low");
            assert!(o[1..3].contains(&"a".to_string()) && o[1..3].contains(&"b".to_string()));
            if o[1] == "a" {
                a_second += 1;
            }
        }
        // p = 0.75, sd of the count = sqrt(n p (1-p)) ≈ 61; allow 5 sd.
        let expected = n * 3 / 4;
        assert!((a_second - expected).abs() < 310, "{a_second}");
    }

    #[test]
    fn unknown_tiers_are_never_shuffled() {
        let cands: Vec<_> = ["x", "y", "z"]
            .into_iter()
            .map(|s| Candidate::ordered(s.into()))
            .collect();
        let mut rng = StdRng::seed_from_u64(1);
        for _ in 0..50 {
            assert_eq!(order(&cands, &mut rng), ["x", "y", "z"]);
        }
    }

    #[test]
    fn scope_level_from_metadata() {
        let mut m = pb::KeyMetadata {
            priority: 3,
            scope: Some(pb::Scope {
                team_id: Some("t".into()),
                ..Default::default()
            }),
            ..Default::default()
        };
        assert_eq!(tier_of(&m), (2, 3));
        m.scope = None;
        assert_eq!(tier_of(&m), (3, 3));
    }
}
