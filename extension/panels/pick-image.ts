// The image picker the activations and tuning panels ask the host for (a webview cannot open files itself).
import * as vscode from 'vscode';

export async function pickImage(): Promise<string | undefined> {
  const picked = await vscode.window.showOpenDialog({
    title: 'Pick an image',
    canSelectMany: false,
    filters: { Images: ['png', 'jpg', 'jpeg'] },
    defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
  });
  return picked?.[0]?.fsPath;
}
