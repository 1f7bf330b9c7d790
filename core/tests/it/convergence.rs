//! Property: replicas that receive the same ops in any order, with duplicates, stamped by clocks
//! skewed up to ±24 hours, end identical — through the real store on real SQLite files.

use gridbook_core::sync::hlc::{HlcClock, WallClock};
use gridbook_core::*;
use proptest::prelude::*;
use serde_json::{json, Map, Value};

struct Fixed(u64);
impl WallClock for Fixed {
    fn now_millis(&self) -> u64 {
        self.0
    }
}

const DAY: i64 = 86_400_000;

#[derive(Debug, Clone)]
struct Edit {
    device: usize,
    entity: usize,
    create: bool,
    field: usize,
    value: u8,
    at: u64,
}

fn edit() -> impl Strategy<Value = Edit> {
    (0..3usize, 0..3usize, any::<bool>(), 0..4usize, any::<u8>(), 0..10_000u64)
        .prop_map(|(device, entity, create, field, value, at)| Edit { device, entity, create, field, value, at })
}

/// Turns edits into ops the way devices would stamp them: each device has its own skewed clock.
fn stamp(edits: &[Edit], skews: &[i64; 3]) -> Vec<Op> {
    let mut clocks: Vec<HlcClock> = (0..3).map(|d| HlcClock::new(format!("dev{d}"), Box::new(Fixed(0)))).collect();
    edits
        .iter()
        .map(|e| {
            let wall = (1_700_000_000_000i64 + skews[e.device] + e.at as i64 * 1000) as u64;
            let clock = &mut clocks[e.device];
            clock.restore(&Hlc::new(wall, 0, "x"));
            let mut fields = Map::new();
            let names = ["customer_name", "mobile", "notes", "floor"];
            if e.create {
                fields.insert("grid_id".into(), json!("g1"));
                fields.insert("customer_name".into(), json!(format!("名{}", e.value)));
            }
            let v: Value =
                if names[e.field] == "floor" { json!(e.value as i64) } else { json!(format!("v{}", e.value)) };
            fields.insert(names[e.field].into(), v);
            Op {
                id: uuid::Uuid::now_v7(),
                kind: EntityKind::Household,
                entity: format!("h{}", e.entity),
                grid: "g1".into(),
                action: if e.create { OpAction::Create } else { OpAction::Update },
                fields,
                hlc: clock.now(),
            }
        })
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 48, .. ProptestConfig::default() })]
    #[test]
    fn replicas_converge(
        edits in prop::collection::vec(edit(), 1..30),
        skews in prop::array::uniform3(-DAY..DAY),
        orders in prop::collection::vec(prop::collection::vec(any::<prop::sample::Index>(), 0..60), 3),
    ) {
        let ops = stamp(&edits, &skews);
        let dir = tempfile::tempdir().unwrap();
        let mut states = Vec::new();
        for (r, picks) in orders.iter().enumerate() {
            // every op at least once, in a shuffled order, plus random duplicates
            let mut sequence: Vec<&Op> = ops.iter().collect();
            for (i, p) in picks.iter().enumerate() {
                if i % 2 == 0 { let j = p.index(sequence.len()); let k = (i * 7) % sequence.len(); sequence.swap(j, k); }
                else { sequence.push(&ops[p.index(ops.len())]); }
            }
            let store = Store::open(dir.path().join(format!("replica{r}.db"))).unwrap();
            for chunk in sequence.chunks(5) {
                let owned: Vec<Op> = chunk.iter().map(|o| (*o).clone()).collect();
                store.apply_remote_ops(&owned).unwrap();
            }
            states.push(store.all_states(EntityKind::Household).unwrap());
        }
        prop_assert_eq!(&states[0], &states[1]);
        prop_assert_eq!(&states[1], &states[2]);
    }
}
