// Command ferretdb runs an embedded FerretDB 1.x (MongoDB wire protocol on top of PostgreSQL)
// for local development, and can ping a running MongoDB-compatible server (-ping).
//
// It exists because `go install github.com/FerretDB/FerretDB/cmd/ferretdb@v1.24.2` panics at
// start-up (build/version/version.txt is not part of the published module); the embeddable
// package github.com/FerretDB/FerretDB/ferretdb has no such requirement.
//
// Usage:
//
//	ferretdb [-listen-addr 127.0.0.1:27018] [-postgresql-url postgres://...] [-log-level info]
//	ferretdb -ping 127.0.0.1:27018 [-timeout 5s]
//
// Flags default to the environment variables FERRETDB_LISTEN_ADDR, FERRETDB_POSTGRESQL_URL
// and FERRETDB_LOG_LEVEL. The server runs until SIGTERM or SIGINT.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/signal"
	"strings"
	"syscall"
	"time"

	"go.mongodb.org/mongo-driver/bson"
	"go.mongodb.org/mongo-driver/mongo"
	"go.mongodb.org/mongo-driver/mongo/options"

	"github.com/FerretDB/FerretDB/ferretdb"
)

func envOr(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func main() {
	listenAddr := flag.String("listen-addr", envOr("FERRETDB_LISTEN_ADDR", "127.0.0.1:27018"),
		"TCP address to listen on (env FERRETDB_LISTEN_ADDR)")
	pgURL := flag.String("postgresql-url",
		envOr("FERRETDB_POSTGRESQL_URL", "postgres://rse:rse@127.0.0.1:55432/ferretdb"),
		"PostgreSQL backend URL (env FERRETDB_POSTGRESQL_URL)")
	logLevel := flag.String("log-level", envOr("FERRETDB_LOG_LEVEL", "info"),
		"log level: debug, info, warn, error (env FERRETDB_LOG_LEVEL)")
	pingAddr := flag.String("ping", "",
		"instead of serving, send hello+ping to the MongoDB server at this host:port; exit 0 if it answers")
	timeout := flag.Duration("timeout", 5*time.Second, "timeout for -ping")
	flag.Parse()

	if *pingAddr != "" {
		if err := ping(*pingAddr, *timeout); err != nil {
			fmt.Fprintf(os.Stderr, "ping %s: %v\n", *pingAddr, err)
			os.Exit(1)
		}
		fmt.Printf("ping %s: ok\n", *pingAddr)
		return
	}

	var level slog.Level
	if err := level.UnmarshalText([]byte(*logLevel)); err != nil {
		fmt.Fprintf(os.Stderr, "bad -log-level %q: %v\n", *logLevel, err)
		os.Exit(2)
	}
	logger := slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: level}))

	if err := serve(logger, *listenAddr, *pgURL); err != nil {
		logger.Error("ferretdb failed", "error", err)
		os.Exit(1)
	}
}

// serve runs FerretDB until SIGTERM/SIGINT.
func serve(logger *slog.Logger, listenAddr, pgURL string) error {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()

	f, err := ferretdb.New(&ferretdb.Config{
		Listener:      ferretdb.ListenerConfig{TCP: listenAddr},
		Logger:        logger,
		Handler:       "postgresql",
		PostgreSQLURL: pgURL,
	})
	if err != nil {
		return err
	}

	logger.Info("ferretdb starting", "listen", listenAddr, "backend", redact(pgURL))

	done := make(chan error, 1)
	go func() { done <- f.Run(ctx) }()

	// Run initialises the listener; MongoDBURI blocks until it is ready.
	logger.Info("ferretdb listening", "uri", f.MongoDBURI())

	err = <-done
	logger.Info("ferretdb stopped")
	return err
}

// ping connects with the official Go driver and runs hello and ping against the admin database.
func ping(addr string, timeout time.Duration) error {
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()

	opts := options.Client().
		ApplyURI("mongodb://" + addr + "/").
		SetDirect(true).
		SetServerSelectionTimeout(timeout).
		SetConnectTimeout(timeout)

	client, err := mongo.Connect(ctx, opts)
	if err != nil {
		return err
	}
	// No client.Disconnect: it sends endSessions, which FerretDB 1.x does not implement and logs as
	// a warning on every ping. The process exits right after and the sockets close with it.

	admin := client.Database("admin")

	var hello bson.M
	if err = admin.RunCommand(ctx, bson.D{{Key: "hello", Value: 1}}).Decode(&hello); err != nil {
		return fmt.Errorf("hello: %w", err)
	}

	var res bson.M
	if err = admin.RunCommand(ctx, bson.D{{Key: "ping", Value: 1}}).Decode(&res); err != nil {
		return fmt.Errorf("ping: %w", err)
	}
	if ok, _ := res["ok"].(float64); ok != 1 {
		return errors.New("ping: ok != 1")
	}
	return nil
}

// redact hides the password of a URL for logging.
func redact(u string) string {
	at := strings.LastIndex(u, "@")
	scheme := strings.Index(u, "://")
	if at < 0 || scheme < 0 || at < scheme {
		return u
	}
	userinfo := u[scheme+3 : at]
	if i := strings.Index(userinfo, ":"); i >= 0 {
		return u[:scheme+3] + userinfo[:i] + ":***" + u[at:]
	}
	return u
}
