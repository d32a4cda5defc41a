//! The benchmark streams' recipe, shared with `benches/detectors.rs`, still produces the numbers
//! `tools/river_bench.py` times River on.

#[allow(dead_code)]
#[path = "../../benches/support/streams.rs"]
mod streams;

#[test]
fn blocks_match_the_recipe_python_implements() {
    let abrupt = streams::real_abrupt_block();
    let nodrift = streams::real_nodrift_block();
    // The first values as CPython prints them for the same recipe.
    assert_eq!(
        &abrupt[..3],
        [1.459083247037336, -0.7284050308731533, 0.8089349425102847]
    );
    assert_eq!(
        &nodrift[..3],
        [1.0378307846240675, -0.2461396028268501, -1.0465092983997106]
    );
    assert_eq!(
        streams::fingerprint(&[&abrupt, &nodrift]),
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
