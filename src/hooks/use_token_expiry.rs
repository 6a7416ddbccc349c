//! The token's expiry, while it is unused: the host hears `token_expiring` ten seconds before and
//! `token_expired` at the time, and the page stops offering a flow that can no longer work (a
//! reload then says the link expired).

use std::rc::Rc;

use gloo_timers::callback::Timeout;
use pinframe_protocol::host::TOKEN_EXPIRING_SECONDS;
use pinframe_protocol::HostEvent;
use yew::prelude::*;

use crate::{bridge, link};

/// While `active` and the expiry is known (`deadline_ms`, this device's clock), schedules the two
/// events; at the expiry the kept token is dropped and `on_expired` runs.
#[hook]
pub fn use_token_expiry(
    deadline_ms: Option<f64>,
    active: bool,
    parent_origins: Rc<[String]>,
    on_expired: Callback<()>,
) {
    use_effect_with((deadline_ms, active, parent_origins), move |(deadline, active, origins)| {
        let timers = deadline.filter(|_| *active).map(|deadline| {
            let left = (deadline - link::now_ms()).max(0.0);
            let warn_in = left - f64::from(TOKEN_EXPIRING_SECONDS) * 1000.0;
            let expiring = {
                let origins = origins.clone();
                let warn = move || bridge::notify(HostEvent::TokenExpiring, &origins);
                if warn_in > 0.0 {
                    Some(Timeout::new(warn_in as u32, warn))
                } else {
                    if left > 0.0 {
                        warn();
                    }
                    None
                }
            };
            let origins = origins.clone();
            let expired = Timeout::new(left as u32, move || {
                link::expire();
                bridge::notify(HostEvent::TokenExpired, &origins);
                on_expired.emit(());
            });
            (expiring, expired)
        });
        move || drop(timers)
    });
}
