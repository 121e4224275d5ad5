//! The login flow of each adapter's reference app in headless Chromium
//! (selenium): see `conformance::browser`.

#[test]
fn poem_login_flow_in_chromium() {
    conformance::browser::login_flow_in_a_browser("poem");
}

#[test]
fn rocket_login_flow_in_chromium() {
    conformance::browser::login_flow_in_a_browser("rocket");
}

#[test]
fn warp_login_flow_in_chromium() {
    conformance::browser::login_flow_in_a_browser("warp");
}
