//! The synchronous store (`blocking` feature): the same reads and writes as the async store,
//! from plain threads, against a real server and the embedded backend; from inside an async
//! runtime it refuses with an error instead of blocking a runtime thread.
#![cfg(feature = "blocking")]

mod behaviour;
mod support;

use std::time::Duration;

use behaviour::{root_registry, AgeAndValue, ProfileVector as Profile, UserProfile};
use fstore::blocking::Store;
use fstore::{Error, Value};
use support::TestServer;

fn exercise(store: &Store) {
    store.ping().unwrap();
    let rows: Vec<(String, UserProfile)> = (0..20)
        .map(|i| (format!("b{i}"), UserProfile::sample(i)))
        .collect();
    store.write_batch(&rows).unwrap();
    store.write("single", &UserProfile::sample(99)).unwrap();
    assert_eq!(
        store.read::<UserProfile>("single").unwrap(),
        Some(UserProfile::sample(99))
    );
    let ids: Vec<&str> = rows.iter().map(|(id, _)| id.as_str()).collect();
    let got = store.read_batch::<UserProfile, _>(&ids).unwrap();
    for ((_, want), got) in rows.iter().zip(&got) {
        assert_eq!(got.as_ref(), Some(want));
    }
    let part = store.read::<AgeAndValue>("b3").unwrap().unwrap();
    assert_eq!(part.age, UserProfile::sample(3).age);
    let v: Profile = store.vector("b4").unwrap();
    assert_eq!(v.tenure_days, 28);
    assert_eq!(
        store
            .vector_batch::<Profile, _>(["b1", "b2"])
            .unwrap()
            .len(),
        2
    );
    let ttl = store.ttl::<UserProfile>("b1").unwrap().unwrap();
    assert!(ttl > Duration::from_secs(3500), "{ttl:?}");

    // The dynamic API by name.
    let named = store.with_registry(root_registry());
    named
        .write_by_name("user_profile", "d1", &[("age", Value::Int(41))])
        .unwrap();
    named
        .write_batch_by_name("user_profile", [("d2", [("age", Value::Int(42))])])
        .unwrap();
    let d1 = named
        .read_by_name("user_profile", "d1", Some(&["age"]))
        .unwrap();
    assert_eq!(d1.unwrap()["age"], Value::Int(41));
    let both = named
        .read_batch_by_name("user_profile", ["d2", "none"])
        .unwrap();
    assert_eq!(both[0].as_ref().unwrap()["age"], Value::Int(42));
    assert!(both[1].is_none());
    let vector = named
        .get_feature_vector("d2", &["user_profile:age"])
        .unwrap();
    assert_eq!(vector["user_profile__age"], Value::Int(42));

    // Clones share the store; close ends it for all of them.
    let clone = store.clone();
    store.close().unwrap();
    assert!(matches!(clone.ping(), Err(Error::Closed)));
}

#[test]
fn against_a_server() {
    let server = TestServer::start();
    let store = Store::connect(&server.url()).unwrap();
    exercise(&store);
}

#[test]
fn on_the_embedded_backend() {
    exercise(&Store::embedded().unwrap());
}

#[test]
fn from_threads_at_once() {
    let server = TestServer::start();
    let store = Store::connect(&server.url()).unwrap();
    let threads: Vec<_> = (0..8i64)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                for i in 0..50 {
                    let id = format!("t{t}_{i}");
                    store.write(&id, &UserProfile::sample(t * 100 + i)).unwrap();
                    let got = store.read::<UserProfile>(&id).unwrap();
                    assert_eq!(got, Some(UserProfile::sample(t * 100 + i)));
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
}

#[test]
fn inside_an_async_runtime_it_refuses_instead_of_blocking() {
    let outer = Store::embedded().unwrap();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(async {
        let err = outer.ping().unwrap_err();
        assert!(matches!(err, Error::Config(_)), "{err:?}");
        assert!(err.to_string().contains("async fstore::Store"), "{err}");
        assert!(matches!(Store::embedded(), Err(Error::Config(_))));
    });
    // A store dropped inside an async runtime shuts its own runtime down without panicking.
    let inner = Store::embedded().unwrap();
    runtime.block_on(async move { drop(inner) });
}
