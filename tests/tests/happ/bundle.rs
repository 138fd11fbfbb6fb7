//! The packed `.happ` installs into a conductor as a launcher would install it.

use crate::common::*;
use holochain::prelude::*;
use holochain::sweettest::SweetConductor;
use media::ContentView;

#[tokio::test(flavor = "multi_thread")]
async fn the_happ_file_installs_and_answers_zome_calls() {
    let path = repo_root().join("workdir/elohim_media.happ");
    assert!(path.is_file(), "{} missing; run scripts/setup.sh", path.display());
    let conductor = SweetConductor::standard().await;
    let handle = conductor.raw_handle();
    let app = handle
        .clone()
        .install_app_bundle(InstallAppPayload {
            source: AppBundleSource::Path(path),
            agent_key: None,
            installed_app_id: Some("elohim_media".into()),
            network_seed: None,
            roles_settings: None,
            ignore_genesis_failure: false,
            restore_from_dht: false,
        })
        .await
        .expect("the .happ installs");
    handle
        .clone()
        .enable_app(app.id().clone())
        .await
        .expect("the app enables");

    let (role, cell_id) = app.provisioned_cells().next().expect("one provisioned cell");
    assert_eq!(role, ROLE);
    let cell = conductor.get_sweet_cell(cell_id).expect("cell is running");
    let view: ContentView = conductor
        .call(&cell.zome("media"), "create_content", content("hello", "commons"))
        .await;
    assert_eq!(view.content.title, "hello");
    assert_eq!(&view.author, cell.agent_pubkey());
}
