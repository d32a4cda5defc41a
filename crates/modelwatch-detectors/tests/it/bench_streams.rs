//! The benchmark streams' recipe, shared with `benches/detectors.rs`, still produces the numbers
//! `tools/river_bench.py` times River on.

#[allow(dead_code)]
#[path = "../../benches/support/streams.rs"]
mod streams;

#[test]
fn blocks_match_the_recipe_python_implements() {
    let abrupt = streams::real_abrupt_block();
    let nodrift = streams::real_nodrift_block();
    let binary = streams::bin_abrupt_block();
    // The first values as CPython prints them for the same recipe.
    assert_eq!(
        &abrupt[..3],
        [1.459083247037336, -0.7284050308731533, 0.8089349425102847]
    );
    assert_eq!(
        &nodrift[..3],
        [1.0378307846240675, -0.2461396028268501, -1.0465092983997106]
    );
    // bin_abrupt: errors at indices 14 and 16 first; 199 errors in the first half (rate 0.1),
    // 822 in the second (rate 0.4), as CPython counts them.
    assert_eq!(
        binary.iter().position(|&x| x == 1.0),
        Some(14),
        "{:?}",
        &binary[..20]
    );
    assert!(binary.iter().all(|&x| x == 0.0 || x == 1.0));
    let half = streams::BLOCK_LEN / 2;
    assert_eq!(binary[..half].iter().sum::<f64>(), 199.0);
    assert_eq!(binary[half..].iter().sum::<f64>(), 822.0);
    assert_eq!(
        streams::fingerprint(&[&abrupt, &nodrift, &binary]),
        streams::BLOCKS_FINGERPRINT
    );
}

#[test]
fn tiling_repeats_the_block() {
    let block = streams::real_abrupt_block();
    let tiled = streams::tiled(&block, streams::WARM_UP_LEN);
    assert_eq!(tiled.len(), streams::WARM_UP_LEN);
    assert_eq!(tiled[streams::BLOCK_LEN + 7], block[7]);
}
