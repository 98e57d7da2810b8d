//! No input makes the parser, checker or evaluator panic: seeded random token soup and random
//! well-formed calls of every function with odd arguments (a cheap stand-in for `cargo fuzz`).

use mapping_lang::expr::{check, eval, parse, Context, Env, SIGNATURES};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};
use serde_json::json;

const LEAVES: &[&str] = &[
    "[givenName]",
    "[proxyAddresses]",
    "[nickName]",
    "[IsSoftDeleted]",
    "[emails[type eq \"work\"].value]",
    "\"\"",
    "\"a b,c\"",
    "\"Zoë ß\"",
    "\"2021-08-31-08:00\"",
    "\"8/25/2021 5:41:18 PM\"",
    "\"yyyy-MM-ddzzz\"",
    "\"(?<g>\\\\d+)\"",
    "\"g\"",
    "\"(\"",
    "\"d\"",
    "\"ww\"",
    "\"True\"",
    "0",
    "1",
    "-1",
    "3",
    "256",
    "9223372036854775807",
    "-9223372036854775808",
    "99999999999999999999",
    "129699324000000000",
    "1.5",
    "&HF",
    "&H7FFFFFFFFFFFFFFF",
    "vbTextCompare",
];

fn call(rng: &mut StdRng, depth: u32) -> String {
    if depth == 0 || rng.gen_bool(0.3) {
        return (*LEAVES.choose(rng).unwrap()).to_owned();
    }
    let sig = SIGNATURES.choose(rng).unwrap();
    let extra = rng.gen_range(0..=2);
    let n = match sig.max {
        Some(max) => rng.gen_range(sig.min..=max),
        None => sig.min + extra,
    };
    let args: Vec<String> = (0..n)
        .map(|_| {
            if rng.gen_bool(0.1) {
                String::new()
            } else if rng.gen_bool(0.1) {
                format!("{} > {}", call(rng, depth - 1), call(rng, depth - 1))
            } else {
                call(rng, depth - 1)
            }
        })
        .collect();
    format!("{}({})", sig.name, args.join(", "))
}

fn run(src: &str) {
    let user = json!({
        "name": {"givenName": "John"},
        "emails": [{"type": "work", "value": "a@b.c"}, {"value": "d@e.f"}],
        "active": false
    });
    let Ok(expr) = parse(src) else {
        return;
    };
    let again = parse(&expr.to_string()).unwrap();
    assert_eq!(expr.without_spans(), again.without_spans(), "{src}");
    let _ = check(&expr, &Env::default());
    let exists = |v: &str| v.len().is_multiple_of(2);
    let ctx = Context {
        default_domain: Some("contoso.com".into()),
        exists_in_target: Some(&exists),
        fuel: 5_000,
        ..Context::new(&user, "2021-07-02T15:33:38Z".parse().unwrap())
    };
    let _ = eval(&expr, &ctx);
}

#[test]
fn random_calls_never_panic() {
    let mut rng = StdRng::seed_from_u64(7);
    for _ in 0..3_000 {
        let src = call(&mut rng, 4);
        run(&src);
    }
}

#[test]
fn token_soup_never_panics() {
    const TOKENS: &[&str] = &[
        "(", ")", ",", " ", "[", "]", "\"", "\\", "=", "<", ">", "&H", "-", ".", "1", "Join",
        "Mid", "x", "[a]", "\"s\"", "é", "\n",
    ];
    let mut rng = StdRng::seed_from_u64(11);
    for _ in 0..20_000 {
        let len = rng.gen_range(0..20);
        let src: String = (0..len)
            .map(|_| *TOKENS.choose(&mut rng).unwrap())
            .collect();
        run(&src);
    }
}
