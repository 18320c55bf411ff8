//! A quick first look for big surveys: whatlang's trigram detector, trusted only where it calls
//! its answer reliable and names a language the detector knows; lingua tells the rest.

use std::collections::HashMap;

use rayon::prelude::*;

/// Distinct texts above which the quick look is taken. Below it (every shared dataset, any
/// survey question of a few thousand answers) lingua tells every answer, as it always has.
/// Measured on 20,000 twenty-word survey answers (clauses of nhs_fft_phase1 joined in pairs) on
/// 2 cores: lingua alone 624 answers/s; whatlang sure of 81% of them, lingua telling the rest,
/// 3,300 answers/s (5.3×). On the answers whatlang was sure of it agreed with lingua on 16,197
/// of 16,203 (3 lingua left undetermined) and on 3,764 of the 3,769 sib200_eu sentences in four
/// languages (3 undetermined); lingua itself tells 99.7% of sib200_eu right.
pub const QUICK_ABOVE: usize = 50_000;

/// Each text's language where whatlang is sure of it, `None` where lingua must look.
pub fn reliable(texts: &[&str]) -> Vec<Option<String>> {
    let iso: HashMap<String, String> = lingua::Language::all()
        .into_iter()
        .map(|l| {
            (
                l.iso_code_639_3().to_string(),
                l.iso_code_639_1().to_string(),
            )
        })
        .collect();
    texts
        .par_iter()
        .map(|t| {
            let info = whatlang::detect(t).filter(|i| i.is_reliable())?;
            iso.get(info.lang().code()).cloned()
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clear_texts_are_told_and_unsure_ones_left_to_lingua() {
        let got = reliable(&[
            "The staff were very kind and the food was hot and tasty every single day",
            "Das Personal war sehr freundlich und das Essen war jeden Tag warm und lecker",
            "ok",
        ]);
        assert_eq!(got[0].as_deref(), Some("en"));
        assert_eq!(got[1].as_deref(), Some("de"));
        assert_eq!(got[2], None);
    }
}
