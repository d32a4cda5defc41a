//! Actions across a kill -9 of serve: pending notifications go out once with the same keys,
//! and a command that was running is interrupted and retried by policy.

use super::*;

#[test]
fn after_a_kill_pending_notifications_go_out_with_the_same_keys_and_none_twice() {
    // Five failures: some before the kill, the rest after the restart, then 200s.
    let receiver = Receiver::start(vec![Answer::Status(503); 5]);
    let dir = tempfile::tempdir().unwrap();
    let config = webhook_config(&receiver.url, "");
    let serve = serve_with(dir.path(), &config, &[]);
    Client::of(&serve).ingest(&[
        accuracy("1", 0, 0.95),
        accuracy("1", 1, 0.5),
        accuracy("1", 2, 0.95),
    ]);
    let first = receiver.next(60);
    assert_eq!(first.answered, 503);
    receiver.next(60);
    serve.kill();

    let serve = serve_with(dir.path(), &config, &[]);
    let (accepted, all) = receiver.until_accepted(2, 60);
    let keys: Vec<&str> = accepted
        .iter()
        .map(|request| request.headers["idempotency-key"].as_str())
        .collect();
    assert_eq!(
        keys[0], first.headers["idempotency-key"],
        "the same key after the restart"
    );
    assert_ne!(keys[0], keys[1]);
    assert!(
        all.iter()
            .all(|request| request.answered == 503 || request.answered == 200)
    );
    let deliveries = Client::of(&serve).all("deliveries");
    let ids: Vec<&str> = deliveries
        .iter()
        .map(|d| d["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, keys);
    serve.stop();
    // Nothing more arrives: a third request would be a second delivery of one of them.
    assert!(
        receiver.is_quiet(),
        "a notification was sent again after it was accepted"
    );
}

#[test]
fn a_command_running_when_serve_is_killed_is_interrupted_and_retried_by_policy() {
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("started");
    assert!(
        Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let script = dir.path().join("train.sh");
    // Attempt 1 says it started (with its pid) and hangs; attempt 2 trains.
    std::fs::write(
        &script,
        format!(
            "#!/bin/sh\n\
             if [ \"$MODELWATCH_ATTEMPT\" = 1 ]; then echo $$ > {fifo}; exec sleep 600; fi\n\
             echo \"$MODELWATCH_VERSION.retrained\"\n",
            fifo = fifo.display()
        ),
    )
    .unwrap();
    let config = retrain_config(&format!(
        "[[trainers]]\nkind = \"command\"\ncommand = [\"sh\", \"{}\"]\nmax_attempts = 2\n\
         retry_delay_secs = 0\n",
        script.display()
    ));
    let serve = serve_with(dir.path(), &config, &[]);
    Client::of(&serve).ingest(&[accuracy("3", 0, 0.95), accuracy("3", 1, 0.5)]);
    // Blocks until the first attempt writes its pid.
    let pid = std::fs::read_to_string(&fifo).unwrap();
    serve.kill();
    // The orphaned attempt is not serve's any more; end it here.
    assert!(
        Command::new("kill")
            .args(["-KILL", pid.trim()])
            .status()
            .unwrap()
            .success()
    );

    let serve = serve_with(dir.path(), &config, &[]);
    let client = Client::of(&serve);
    let job = only_job(&client);
    assert_eq!(job["state"], "succeeded", "{job}");
    assert_eq!(job["attempts"], 2);
    assert_eq!(job["result_version"], "3.retrained");
    let outcomes: Vec<&str> = job["attempt_log"]
        .as_array()
        .unwrap()
        .iter()
        .map(|attempt| attempt["outcome"].as_str().unwrap())
        .collect();
    assert_eq!(outcomes, ["interrupted", "succeeded"]);
    serve.stop();
}
