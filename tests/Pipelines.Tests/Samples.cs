namespace Pipelines.Tests;

internal static class Samples
{
    public const string Yaml = """
        name: web-release
        triggers:
          - kind: push
            repository: acme/web
            branches: [main, 'release/*', '!release/old']
            paths: ['src/**', '!**/*.md']
          - kind: schedule
            cron: "0 0 3 * * 1-5"
            timeZone: Europe/Berlin
          - kind: manual
        concurrency:
          group: deploy-${{ parameters.env }}
          cancelInProgress: false
        parameters:
          env: {type: choice, options: [staging, prod], default: staging}
          replicas: {type: number, default: 3}
          dryRun: {type: boolean, default: false, required: false}
        steps:
          - id: build
            kind: script
            run: dotnet publish -c Release
            shell: bash
            env: {CONFIGURATION: Release, TARGET: "${{ parameters.env }}"}
            timeout: 10m
            retries: {limit: 2, backoff: 2s, exponential: true, on: [failure, timeout]}
            outputs: [version]
          - id: smoke
            kind: http
            needs: [build]
            method: POST
            url: https://ci.example/smoke/${{ steps.build.outputs.version }}
            headers: {Accept: application/json}
            body: '{"version": "${{ steps.build.outputs.version }}"}'
            expectStatus: 202
          - id: gate
            kind: approval
            needs: [smoke]
            when: parameters.env == 'prod'
            approvers: [ana, bo, cy]
            minApprovers: 2
            timeout: 4h
            onTimeout: reject
          - id: deploy
            kind: deploy
            needs: [gate]
            when: "!failure() && !cancelled()"
            version: ${{ steps.build.outputs.version }}
            target: {kind: http, deployUrl: https://deploy.example/web, healthUrl: https://web.example/health}
            strategy: {kind: canary, steps: [10, 50, 100], pause: 5m}
          - id: announce
            kind: publish
            needs: [deploy]
            topic: pipeline.custom.releases
            type: web.released
            data: {version: "${{ steps.build.outputs.version }}"}
          - id: settle
            kind: wait
            needs: [announce]
            duration: 30s
        finally:
          - id: cleanup
            kind: script
            run: rm -rf ./out
        """;

    public const string Json = """
        {
          "name": "web-release",
          "triggers": [
            { "kind": "push", "repository": "acme/web", "branches": ["main", "release/*", "!release/old"], "paths": ["src/**", "!**/*.md"] },
            { "kind": "schedule", "cron": "0 0 3 * * 1-5", "timeZone": "Europe/Berlin" },
            { "kind": "manual" }
          ],
          "concurrency": { "group": "deploy-${{ parameters.env }}", "cancelInProgress": false },
          "parameters": {
            "env": { "type": "choice", "options": ["staging", "prod"], "default": "staging" },
            "replicas": { "type": "number", "default": 3 },
            "dryRun": { "type": "boolean", "default": false, "required": false }
          },
          "steps": [
            {
              "id": "build", "kind": "script", "run": "dotnet publish -c Release", "shell": "bash",
              "env": { "CONFIGURATION": "Release", "TARGET": "${{ parameters.env }}" },
              "timeout": "10m",
              "retries": { "limit": 2, "backoff": "2s", "exponential": true, "on": ["failure", "timeout"] },
              "outputs": ["version"]
            },
            {
              "id": "smoke", "kind": "http", "needs": ["build"], "method": "POST",
              "url": "https://ci.example/smoke/${{ steps.build.outputs.version }}",
              "headers": { "Accept": "application/json" },
              "body": "{\"version\": \"${{ steps.build.outputs.version }}\"}",
              "expectStatus": 202
            },
            {
              "id": "gate", "kind": "approval", "needs": ["smoke"], "when": "parameters.env == 'prod'",
              "approvers": ["ana", "bo", "cy"], "minApprovers": 2, "timeout": "4h", "onTimeout": "reject"
            },
            {
              "id": "deploy", "kind": "deploy", "needs": ["gate"], "when": "!failure() && !cancelled()",
              "version": "${{ steps.build.outputs.version }}",
              "target": { "kind": "http", "deployUrl": "https://deploy.example/web", "healthUrl": "https://web.example/health" },
              "strategy": { "kind": "canary", "steps": [10, 50, 100], "pause": "5m" }
            },
            {
              "id": "announce", "kind": "publish", "needs": ["deploy"], "topic": "pipeline.custom.releases", "type": "web.released",
              "data": { "version": "${{ steps.build.outputs.version }}" }
            },
            { "id": "settle", "kind": "wait", "needs": ["announce"], "duration": "30s" }
          ],
          "finally": [
            { "id": "cleanup", "kind": "script", "run": "rm -rf ./out" }
          ]
        }
        """;
}
